//! Finishes the RFC 6750 answers of protected operations:
//!
//! - requests whose credentials poem-openapi could not extract (no `Authorization` header,
//!   another scheme, or `Bearer` without a token) are rejected by poem-openapi before the
//!   `BearerAuth` checker runs, with a plain `AuthorizationError`; this turns that into the
//!   matching [`AuthError`];
//! - every authentication failure is rendered from its [`AuthError`], and every 401 challenge
//!   gets `resource_metadata`, the URL of the RFC 9728 metadata.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::ResponseError,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::error::AuthorizationError;

use super::error::{AuthError, InvalidRequest};

/// Middleware completing the bearer challenges of the endpoint it wraps.
#[derive(Debug, Clone)]
pub struct BearerChallenge {
    resource_metadata: Arc<str>,
}

impl BearerChallenge {
    /// Challenges that point at the resource metadata served at `resource_metadata_url`.
    pub fn new(resource_metadata_url: &str) -> Self {
        BearerChallenge { resource_metadata: resource_metadata_url.into() }
    }
}

impl<E: Endpoint> Middleware<E> for BearerChallenge {
    type Output = BearerChallengeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BearerChallengeEndpoint { inner, resource_metadata: Arc::clone(&self.resource_metadata) }
    }
}

/// The endpoint produced by [`BearerChallenge`].
pub struct BearerChallengeEndpoint<E> {
    inner: E,
    resource_metadata: Arc<str>,
}

impl<E: Endpoint> Endpoint for BearerChallengeEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let authorization = req.headers().get(header::AUTHORIZATION).cloned();
        let mut response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(error) if error.is::<AuthorizationError>() => {
                refusal_for(authorization.as_ref().map(HeaderValue::as_bytes)).as_response()
            }
            Err(error) => match error.downcast_ref::<AuthError>() {
                // Rendered here rather than by poem::Error, which would drop the `Refusal` extension.
                Some(refusal) => refusal.as_response(),
                None => return Err(error),
            },
        };
        if response.status() == StatusCode::UNAUTHORIZED {
            self.link_resource_metadata(&mut response);
        }
        Ok(response)
    }
}

impl<E> BearerChallengeEndpoint<E> {
    fn link_resource_metadata(&self, response: &mut Response) {
        let Some(challenge) = response.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) else {
            return;
        };
        let linked = format!("{challenge}, resource_metadata=\"{}\"", self.resource_metadata);
        if let Ok(value) = HeaderValue::from_str(&linked) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
}

/// `Bearer` (any case) with nothing after it is a malformed request; anything else is no
/// credentials at all.
fn refusal_for(authorization: Option<&[u8]>) -> AuthError {
    let scheme = b"bearer";
    match authorization {
        Some(value) if value.len() >= scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme) => {
            let rest = &value[scheme.len()..];
            if rest.iter().all(u8::is_ascii_whitespace) {
                AuthError::InvalidRequest(InvalidRequest::EmptyToken)
            } else {
                AuthError::MissingCredentials
            }
        }
        _ => AuthError::MissingCredentials,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_without_a_token_is_malformed_and_other_schemes_are_missing_credentials() {
        assert_eq!(refusal_for(Some(b"Bearer")), AuthError::InvalidRequest(InvalidRequest::EmptyToken));
        assert_eq!(refusal_for(Some(b"bearer   ")), AuthError::InvalidRequest(InvalidRequest::EmptyToken));
        assert_eq!(refusal_for(Some(b"Basic dXNlcjpwYXNz")), AuthError::MissingCredentials);
        assert_eq!(refusal_for(Some(b"Bearerx")), AuthError::MissingCredentials);
        assert_eq!(refusal_for(None), AuthError::MissingCredentials);
    }
}
