//! The `BearerAuth` security scheme: poem-openapi extracts the token, the checker verifies it.

use std::sync::Arc;

use poem::{Request, http::header};
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{
    claims::Claims,
    error::{AuthError, InvalidRequest},
    verifier::Verifier,
};

/// An OAuth 2.0 access token (a JWT signed by the identity provider) in
/// `Authorization: Bearer <token>`. With Auth0, request it with this API's identifier as
/// `audience`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "verify_bearer")]
pub struct BearerAuth(pub Arc<Claims>);

async fn verify_bearer(req: &Request, bearer: Bearer) -> poem::Result<Arc<Claims>> {
    let result = match req.headers().get_all(header::AUTHORIZATION).iter().count() {
        1 => match req.data::<Arc<Verifier>>() {
            Some(verifier) => verifier.verify(&bearer.token).await,
            None => {
                tracing::error!("the verifier is not attached to the routes");
                Err(AuthError::KeysUnavailable { retry_after: std::time::Duration::from_secs(60) })
            }
        },
        _ => Err(AuthError::InvalidRequest(InvalidRequest::MultipleAuthorizationHeaders)),
    };
    result.map_err(poem::Error::from)
}
