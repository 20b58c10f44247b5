//! Finishes the answers of protected operations: every authentication failure is rendered from
//! its [`AuthError`] with one `WWW-Authenticate` challenge per scheme the operations accept
//! (RFC 6750 `Bearer`, RFC 9449 `DPoP` with the accepted `algs`). The challenge of the scheme
//! the request used carries what failed (a proof's failure is always the DPoP challenge's); a
//! 401's challenges link the RFC 9728 metadata in `resource_metadata`.
//!
//! It also records the method a `HEAD` request was sent with, before the routes answer it as
//! `GET`, so its proof is checked against `HEAD`; and when DPoP nonces are required, every
//! answer to a request that used the DPoP scheme carries the current nonce in `DPoP-Nonce`.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::ResponseError,
    http::{HeaderValue, Method, StatusCode, header},
};

use super::error::{AuthError, REALM};
use crate::auth::{
    dpop::{DPOP_NONCE_HEADER, DpopChecker},
    verifier::unix_now,
};

/// The method a `HEAD` request was sent with, before the routes turned it into `GET`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentAsHead;

/// The schemes the protected operations accept, as their challenges name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedSchemes {
    /// `Authorization: Bearer`.
    pub bearer: bool,
    /// `Authorization: DPoP`, with the proof algorithms accepted (space-separated), when accepted.
    pub dpop_algs: Option<String>,
}

/// Middleware answering the authentication failures of the endpoint it wraps.
#[derive(Clone)]
pub struct AuthChallenge {
    resource_metadata: Arc<str>,
    offered: Arc<OfferedSchemes>,
    dpop: Option<Arc<DpopChecker>>,
}

impl AuthChallenge {
    /// Challenges for the `offered` schemes that point at the resource metadata served at
    /// `resource_metadata_url`; `dpop`'s nonces, when it requires them, go on DPoP answers.
    pub fn new(resource_metadata_url: &str, offered: OfferedSchemes, dpop: Option<Arc<DpopChecker>>) -> Self {
        AuthChallenge { resource_metadata: resource_metadata_url.into(), offered: Arc::new(offered), dpop }
    }
}

impl<E: Endpoint> Middleware<E> for AuthChallenge {
    type Output = AuthChallengeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AuthChallengeEndpoint { inner, challenge: self.clone() }
    }
}

/// The endpoint produced by [`AuthChallenge`].
pub struct AuthChallengeEndpoint<E> {
    inner: E,
    challenge: AuthChallenge,
}

impl<E: Endpoint> Endpoint for AuthChallengeEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        if req.method() == Method::HEAD {
            req.extensions_mut().insert(SentAsHead);
        }
        let used_dpop = req
            .headers()
            .get(header::AUTHORIZATION)
            .is_some_and(|value| value.as_bytes().get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop ")));
        let mut response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            // Rendered here rather than by poem::Error, which would drop the `Refusal` extension.
            Err(error) => match error.downcast_ref::<AuthError>() {
                Some(refusal) => self.challenge.answer(refusal, used_dpop),
                None => return Err(error),
            },
        };
        if used_dpop && let Some(nonces) = self.challenge.dpop.as_deref().and_then(DpopChecker::nonces) {
            response.headers_mut().insert(DPOP_NONCE_HEADER, nonces.current(unix_now()));
        }
        Ok(response)
    }
}

impl AuthChallenge {
    /// The response to `error`, for a request that used the DPoP scheme or not.
    pub fn answer(&self, error: &AuthError, used_dpop: bool) -> Response {
        let mut response = error.as_response();
        if !error.challenges() {
            return response;
        }
        let link = if response.status() == StatusCode::UNAUTHORIZED {
            format!(", resource_metadata=\"{}\"", self.resource_metadata)
        } else {
            String::new()
        };
        let what_failed = error.challenge_error().map(|params| format!(", {params}"));
        let offered = &*self.offered;
        // The challenge that says what failed: the scheme the request used, when it is offered.
        let on_dpop = offered.dpop_algs.is_some()
            && (matches!(error, AuthError::InvalidProof(_)) || used_dpop || !offered.bearer);
        let mut lines = Vec::with_capacity(2);
        if offered.bearer {
            let failed = if on_dpop { "" } else { what_failed.as_deref().unwrap_or_default() };
            lines.push(format!("Bearer realm=\"{REALM}\"{failed}{link}"));
        }
        if let Some(algs) = &offered.dpop_algs {
            let failed = if on_dpop { what_failed.as_deref().unwrap_or_default() } else { "" };
            lines.push(format!("DPoP realm=\"{REALM}\"{failed}, algs=\"{algs}\"{link}"));
        }
        let headers = response.headers_mut();
        headers.remove(header::WWW_AUTHENTICATE);
        for line in lines {
            if let Ok(value) = HeaderValue::from_str(&line) {
                headers.append(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::answers::{ProofRejection, TokenRejection};

    fn challenges(offered: OfferedSchemes, error: AuthError, used_dpop: bool) -> Vec<String> {
        let response = AuthChallenge::new("https://api.example.com/meta", offered, None).answer(&error, used_dpop);
        response.headers().get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn the_scheme_the_request_used_says_what_failed() {
        let both = OfferedSchemes { bearer: true, dpop_algs: Some("ES256 RS256".into()) };
        let meta = ", resource_metadata=\"https://api.example.com/meta\"";
        let expired = AuthError::InvalidToken(TokenRejection::Expired { at: 0 });
        let bearer_failed = challenges(both.clone(), expired.clone(), false);
        assert_eq!(bearer_failed.len(), 2);
        assert!(bearer_failed[0].starts_with("Bearer realm=\"protected-api\", error=\"invalid_token\""));
        assert_eq!(bearer_failed[1], format!("DPoP realm=\"protected-api\", algs=\"ES256 RS256\"{meta}"));
        let dpop_failed = challenges(both.clone(), expired, true);
        assert_eq!(dpop_failed[0], format!("Bearer realm=\"protected-api\"{meta}"));
        assert!(dpop_failed[1].starts_with("DPoP realm=\"protected-api\", error=\"invalid_token\""));
        let proof = challenges(both, AuthError::InvalidProof(ProofRejection::Replayed), false);
        assert!(proof[1].contains("error=\"invalid_dpop_proof\""), "{proof:?}");
        let required = OfferedSchemes { bearer: false, dpop_algs: Some("ES256".into()) };
        let refused = challenges(required, AuthError::InvalidToken(TokenRejection::BearerRefused), false);
        assert_eq!(refused.len(), 1);
        assert!(refused[0].starts_with("DPoP realm=\"protected-api\", error=\"invalid_token\""));
        let bearer_only = OfferedSchemes { bearer: true, dpop_algs: None };
        assert_eq!(
            challenges(bearer_only, AuthError::MissingCredentials, true),
            [format!("Bearer realm=\"protected-api\"{meta}")]
        );
    }
}
