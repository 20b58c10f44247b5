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

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::*;

    #[tokio::test]
    async fn routes_without_a_verifier_are_a_server_error_not_a_client_one() {
        let request = Request::builder().header(header::AUTHORIZATION, "Bearer token").finish();
        let error = verify_bearer(&request, Bearer { token: "token".into() }).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let twice = Request::builder()
            .header(header::AUTHORIZATION, "Bearer a")
            .header(header::AUTHORIZATION, "Bearer b")
            .finish();
        let error = verify_bearer(&twice, Bearer { token: "a".into() }).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}
