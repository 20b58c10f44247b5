//! The security schemes: `BearerAuth` (poem-openapi extracts the token, the checker verifies it)
//! and `OptionalBearerAuth`, the same check for operations that also serve anonymous callers.

use std::sync::Arc;

use poem::RequestBody;
use poem::{
    Request,
    http::{StatusCode, header},
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme, auth::Bearer, registry::Registry,
};

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

/// An optional access token, for operations that serve anonymous callers and personalise for
/// signed-in ones: with no `Authorization` header the operation runs with `None`; with one, the
/// token is checked exactly as for [`BearerAuth`], and a refused token gets the same 401 — never
/// a silent anonymous answer (poem-openapi's `#[oai(fallback)]` would turn any refusal into the
/// fallback). In the spec the operation's security is `[{"BearerAuth": []}, {}]`.
pub struct OptionalBearerAuth(pub Option<Arc<Claims>>);

impl<'a> ApiExtractor<'a> for OptionalBearerAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        BearerAuth::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        BearerAuth::security_schemes()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Ok(OptionalBearerAuth(None));
        }
        let BearerAuth(claims) = BearerAuth::from_request(req, body, param_opts).await?;
        Ok(OptionalBearerAuth(Some(claims)))
    }
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
