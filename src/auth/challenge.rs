//! Answers requests whose credentials poem-openapi could not extract (no `Authorization`
//! header, another scheme, or `Bearer` without a token) the way RFC 6750 says.
//!
//! poem-openapi rejects those before the `BearerAuth` checker runs, with a plain
//! `AuthorizationError`; this middleware turns that into the matching [`AuthError`].

use poem::{Endpoint, Middleware, Request, Result, http::header};
use poem_openapi::error::AuthorizationError;

use super::error::{AuthError, InvalidRequest};

/// Middleware giving credential-less requests to protected operations an RFC 6750 answer.
#[derive(Debug, Default, Clone, Copy)]
pub struct BearerChallenge;

impl<E: Endpoint> Middleware<E> for BearerChallenge {
    type Output = BearerChallengeEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BearerChallengeEndpoint { inner }
    }
}

/// The endpoint produced by [`BearerChallenge`].
pub struct BearerChallengeEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for BearerChallengeEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let authorization = req.headers().get(header::AUTHORIZATION).cloned();
        match self.inner.call(req).await {
            Err(error) if error.is::<AuthorizationError>() => {
                let refusal = refusal_for(authorization.as_ref().map(|value| value.as_bytes()));
                tracing::info!(reason = refusal.reason(), description = %refusal, "request refused");
                Err(refusal.into())
            }
            other => other,
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
