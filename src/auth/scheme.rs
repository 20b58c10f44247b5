//! The `BearerAuth` security scheme: poem-openapi extracts the token, the checker verifies it.

use std::sync::Arc;

use poem::{
    Request,
    http::{StatusCode, header},
};
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{
    answers::{AuthError, InvalidRequest},
    claims::Claims,
    verifier::Verifier,
};

/// An OAuth 2.0 access token (a JWT signed by the identity provider) in
/// `Authorization: Bearer <token>`. With Auth0, request it with this API's identifier as
/// `audience`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "verify_bearer")]
pub struct BearerAuth(pub Arc<Claims>);

async fn verify_bearer(req: &Request, bearer: Bearer) -> poem::Result<Arc<Claims>> {
    if req.headers().get_all(header::AUTHORIZATION).iter().nth(1).is_some() {
        return Err(AuthError::InvalidRequest(InvalidRequest::MultipleAuthorizationHeaders).into());
    }
    let Some(verifier) = req.data::<Arc<Verifier>>() else {
        // A wiring bug, not a client's fault: the routes were built without `.data(verifier)`.
        tracing::error!("the verifier is not attached to the routes");
        return Err(poem::Error::from_string("the service is misconfigured", StatusCode::INTERNAL_SERVER_ERROR));
    };
    Ok(verifier.verify(&bearer.token).await?)
}
