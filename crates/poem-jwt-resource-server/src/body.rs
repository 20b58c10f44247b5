//! The JSON body of every failure, `{"error", "error_description"}`, with `error` from a closed
//! set of codes that the spec lists, so generated clients can match on it. The set holds the
//! token checks' codes and those an API's own JSON failures commonly need (404, 405, 408, 413,
//! 415, 5xx, and an authorization server's token endpoint codes), so one schema serves them all.

use poem_openapi::{Enum, Object};

/// The JSON body of every failure the service answers.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    // No doc comment: one would wrap the `ErrorCode` reference in `allOf`, and generators would
    // then emit a second, anonymous enum.
    #[allow(missing_docs)]
    pub error: ErrorCode,
    /// What went wrong, for the developer of the calling client.
    pub error_description: String,
}

impl ErrorBody {
    /// A body with `error` and `description`.
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        ErrorBody { error, error_description: description.into() }
    }
}

// The core's `jwt_resource_server::ErrorCode`s and the codes of an API's own failures, in one
// closed set the spec lists. The doc comment below is the spec's description of the enum.
/// What kind of failure. The token checks answer an RFC 6750 code (`invalid_request`,
/// `invalid_token`, `insufficient_scope`), RFC 9449's `invalid_dpop_proof` and `use_dpop_nonce`,
/// RFC 9470's `insufficient_user_authentication`, `organization_required` or
/// `organization_mismatch` for an operation of an organization, `unauthorized` when no token was sent, or `temporarily_unavailable` when the signing keys or the DPoP replay
/// store cannot be had; the other codes come from
/// the HTTP layer (404, 405, 406, 408, 411, 413, 415, 5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// No bearer token was sent (401).
    Unauthorized,
    /// Malformed credentials or a request that cannot be parsed (400).
    InvalidRequest,
    /// The access token is not acceptable (401).
    InvalidToken,
    /// The token lacks a required scope (403).
    InsufficientScope,
    /// The DPoP proof is not acceptable (401, RFC 9449).
    InvalidDpopProof,
    /// The DPoP proof lacks the current server-issued nonce, sent in `DPoP-Nonce` (401, RFC 9449 §9).
    UseDpopNonce,
    /// The user must sign in again, more strongly (`acr_values`) or more recently (`max_age`), as
    /// the challenge says (401, RFC 9470).
    InsufficientUserAuthentication,
    /// The operation is for members of an organization, and the token was issued outside one (403).
    OrganizationRequired,
    /// The token was issued for another organization than the operation's (403).
    OrganizationMismatch,
    /// The development issuer does not know the client (RFC 6749 §5.2).
    InvalidClient,
    /// The development issuer's code is unknown, expired, used, or its verifier wrong (RFC 6749 §5.2).
    InvalidGrant,
    /// The development issuer's token endpoint takes only the authorization code grant (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The signing keys, the DPoP replay store or a connection slot cannot be had right now (503,
    /// with `Retry-After`).
    TemporarilyUnavailable,
    /// Nothing is served at the path (404).
    NotFound,
    /// The path does not take the method (405, with `Allow`).
    MethodNotAllowed,
    /// The request's `Accept` cannot be met (406).
    NotAcceptable,
    /// The request's head or body did not arrive in time (408).
    RequestTimeout,
    /// A body without a length where one is needed (411).
    LengthRequired,
    /// The body is larger than the service accepts (413).
    ContentTooLarge,
    /// The body's media type is not accepted (415).
    UnsupportedMediaType,
    /// The service failed (5xx).
    ServerError,
}

impl ErrorCode {
    /// The code as it is written in bodies and challenges.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorCode::OrganizationRequired => "organization_required",
            ErrorCode::OrganizationMismatch => "organization_mismatch",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotAcceptable => "not_acceptable",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::LengthRequired => "length_required",
            ErrorCode::ContentTooLarge => "content_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ServerError => "server_error",
        }
    }
}

impl From<jwt_resource_server::ErrorCode> for ErrorCode {
    fn from(code: jwt_resource_server::ErrorCode) -> Self {
        use jwt_resource_server::ErrorCode as Core;
        match code {
            Core::Unauthorized => ErrorCode::Unauthorized,
            Core::InvalidRequest => ErrorCode::InvalidRequest,
            Core::InvalidToken => ErrorCode::InvalidToken,
            Core::InsufficientScope => ErrorCode::InsufficientScope,
            Core::InvalidDpopProof => ErrorCode::InvalidDpopProof,
            Core::UseDpopNonce => ErrorCode::UseDpopNonce,
            Core::TemporarilyUnavailable => ErrorCode::TemporarilyUnavailable,
            Core::InsufficientUserAuthentication => ErrorCode::InsufficientUserAuthentication,
            Core::OrganizationRequired => ErrorCode::OrganizationRequired,
            Core::OrganizationMismatch => ErrorCode::OrganizationMismatch,
            _ => ErrorCode::ServerError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_written_as_serde_writes_them() {
        for code in [
            ErrorCode::Unauthorized,
            ErrorCode::UseDpopNonce,
            ErrorCode::TemporarilyUnavailable,
            ErrorCode::ServerError,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
