//! The security schemes of the protected operations: an access token sent as a bearer token
//! (`Authorization: Bearer`, RFC 6750), or bound to the client's key and sent with a proof of it
//! (`Authorization: DPoP` and a `DPoP` header, RFC 9449). [`AccessToken`] reads the credentials,
//! applies `dpop.mode`, and hands the token to the [`Verifier`] and its proof to the
//! [`DpopChecker`] attached to the routes; [`OptionalAccessToken`] does the same when an
//! `Authorization` header is sent and lets the operation run without one.

use std::sync::Arc;

use poem::{
    Request, RequestBody,
    http::{HeaderMap, StatusCode, header},
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};

use super::{
    answers::{AuthError, InvalidRequest, ProofRejection, SentAsHead, TokenRejection},
    claims::Claims,
    dpop::{DPOP_HEADER, DpopChecker, DpopMode, ProofTarget, proof_header},
    verifier::Verifier,
};

/// The name of the bearer scheme in the spec.
pub const BEARER_SCHEME: &str = "BearerAuth";

/// The name of the DPoP scheme in the spec.
pub const DPOP_SCHEME: &str = "DPoPAuth";

/// The verified claims of the request's access token, sent as a bearer token or DPoP-bound
/// with its proof. An operation that takes it is documented with both schemes; a request
/// without acceptable credentials never reaches it.
pub struct AccessToken(pub Arc<Claims>);

/// An optional access token, for operations that serve anonymous callers and personalise for
/// signed-in ones: with no `Authorization` header the operation runs with `None`; with one, the
/// credentials are checked exactly as for [`AccessToken`], and refused ones get the same 401 —
/// never a silent anonymous answer. In the spec the operation's security lists both schemes and `{}`.
pub struct OptionalAccessToken(pub Option<Arc<Claims>>);

impl<'a> ApiExtractor<'a> for AccessToken {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![BEARER_SCHEME, DPOP_SCHEME]
    }

    async fn from_request(req: &'a Request, _: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        authenticate(req).await.map(AccessToken)
    }
}

impl<'a> ApiExtractor<'a> for OptionalAccessToken {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        AccessToken::security_schemes()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(req: &'a Request, _: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Ok(OptionalAccessToken(None));
        }
        authenticate(req).await.map(|claims| OptionalAccessToken(Some(claims)))
    }
}

fn register_schemes(registry: &mut Registry) {
    // OpenAPI allows `bearerFormat` only beside the scheme `bearer`.
    let http = |scheme, description| MetaSecurityScheme {
        ty: "http",
        description: Some(description),
        name: None,
        key_in: None,
        scheme: Some(scheme),
        bearer_format: (scheme == "bearer").then_some("JWT"),
        flows: None,
        openid_connect_url: None,
    };
    registry.create_security_scheme(
        BEARER_SCHEME,
        http(
            "bearer",
            "An OAuth 2.0 access token (a JWT signed by the identity provider) in\n`Authorization: Bearer <token>`. With Auth0, request it with this API's identifier as\n`audience`.",
        ),
    );
    registry.create_security_scheme(
        DPOP_SCHEME,
        http(
            "DPoP",
            "A DPoP-bound access token (RFC 9449) in `Authorization: DPoP <token>`, with a new\n`DPoP: <proof>` header on every request: a JWT of `typ` `dpop+jwt` signed by the key the\ntoken's `cnf.jkt` names, whose `htm`, `htu`, `iat`, `jti` and `ath` fit the request.",
        ),
    );
}

/// The credentials of a request, as its `Authorization` header names them.
enum Credentials<'a> {
    Bearer(&'a str),
    Dpop(&'a str),
}

impl<'a> Credentials<'a> {
    /// The credentials of `headers`: none for an absent header or another scheme.
    fn of(headers: &'a HeaderMap) -> Result<Option<Self>, InvalidRequest> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(InvalidRequest::MultipleAuthorizationHeaders);
        }
        let Ok(text) = value.to_str() else {
            return Ok(None);
        };
        let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
        let token = rest.trim_start_matches(' ');
        let bearer = scheme.eq_ignore_ascii_case("bearer");
        if !bearer && !scheme.eq_ignore_ascii_case("dpop") {
            return Ok(None);
        }
        if token.trim_end().is_empty() {
            return Err(InvalidRequest::EmptyToken);
        }
        Ok(Some(if bearer { Credentials::Bearer(token) } else { Credentials::Dpop(token) }))
    }
}

/// The claims of the request's access token, once its credentials passed every check.
async fn authenticate(req: &Request) -> poem::Result<Arc<Claims>> {
    let credentials = Credentials::of(req.headers()).map_err(AuthError::InvalidRequest)?;
    let Some(verifier) = req.data::<Arc<Verifier>>() else {
        // A wiring bug, not a client's fault: the routes were built without `.data(verifier)`.
        tracing::error!("the verifier is not attached to the routes");
        return Err(poem::Error::from_string("the service is misconfigured", StatusCode::INTERNAL_SERVER_ERROR));
    };
    // Attached as an `Option`: `None` when `dpop.mode` is `disabled`.
    let dpop = req
        .data::<Option<Arc<DpopChecker>>>()
        .and_then(Option::as_ref)
        .filter(|dpop| dpop.mode() != DpopMode::Disabled);
    let claims = match credentials {
        None => return Err(AuthError::MissingCredentials.into()),
        Some(Credentials::Bearer(token)) => {
            if req.headers().contains_key(DPOP_HEADER) {
                return Err(AuthError::InvalidRequest(InvalidRequest::BearerWithProof).into());
            }
            if dpop.is_some_and(|dpop| !dpop.mode().accepts_bearer()) {
                return Err(AuthError::from(TokenRejection::BearerRefused).into());
            }
            let claims = verifier.verify(token).await?;
            if claims.is_bound() {
                return Err(AuthError::from(TokenRejection::BoundTokenAsBearer).into());
            }
            claims
        }
        Some(Credentials::Dpop(token)) => {
            // With DPoP disabled, the scheme is not recognised: no credentials, as for any other.
            let Some(dpop) = dpop else {
                return Err(AuthError::MissingCredentials.into());
            };
            let proof = proof_header(req.headers()).map_err(AuthError::from)?;
            let proof = proof.ok_or(AuthError::from(ProofRejection::Missing))?;
            let claims = verifier.verify(token).await?;
            if claims.confirmation_key().is_none() {
                return Err(AuthError::from(TokenRejection::NotBound).into());
            }
            // The routes answer HEAD as GET; the proof names the method the client sent.
            let method = if req.extensions().get::<SentAsHead>().is_some() { "HEAD" } else { req.method().as_str() };
            let target = ProofTarget { method, path: req.original_uri().path() };
            dpop.check_request(proof, target, token, &claims).await?;
            claims
        }
    };
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn routes_without_a_verifier_are_a_server_error_not_a_client_one() {
        let request = Request::builder().header(header::AUTHORIZATION, "Bearer token").finish();
        let error = authenticate(&request).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let twice = Request::builder()
            .header(header::AUTHORIZATION, "Bearer a")
            .header(header::AUTHORIZATION, "Bearer b")
            .finish();
        let error = authenticate(&twice).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_scheme_names_the_credentials() {
        let read = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            match Credentials::of(&headers) {
                Ok(Some(Credentials::Bearer(token))) => format!("bearer {token}"),
                Ok(Some(Credentials::Dpop(token))) => format!("dpop {token}"),
                Ok(None) => "none".to_owned(),
                Err(error) => format!("{error:?}"),
            }
        };
        assert_eq!(read("Bearer abc"), "bearer abc");
        assert_eq!(read("bearer  abc"), "bearer abc");
        assert_eq!(read("DPoP abc"), "dpop abc");
        assert_eq!(read("dpop abc"), "dpop abc");
        assert_eq!(read("Bearer"), "EmptyToken");
        assert_eq!(read("DPoP   "), "EmptyToken");
        assert_eq!(read("Bearerx abc"), "none");
        assert_eq!(read("Basic dXNlcjpwYXNz"), "none");
    }
}
