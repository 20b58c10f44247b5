//! The `error` codes of refused requests: those of RFC 6750 (`invalid_request`, `invalid_token`,
//! `insufficient_scope`), RFC 9449 (`invalid_dpop_proof`, `use_dpop_nonce`), RFC 9470
//! (`insufficient_user_authentication`), the organization checks' own (`organization_required`,
//! `organization_mismatch`), `unauthorized` when no credentials were sent, and
//! `temporarily_unavailable` when the service cannot check them now.

/// What kind of failure, as the answer's body and challenge name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No credentials were sent (401; the challenge has no error code, RFC 6750 §3.1).
    Unauthorized,
    /// Malformed credentials (400).
    InvalidRequest,
    /// The access token is not acceptable (401).
    InvalidToken,
    /// The token lacks a required scope (403).
    InsufficientScope,
    /// The DPoP proof is not acceptable (401, RFC 9449).
    InvalidDpopProof,
    /// The DPoP proof lacks the current server-issued nonce (401, RFC 9449 §9).
    UseDpopNonce,
    /// The signing keys or the DPoP replay store cannot be had right now (503).
    TemporarilyUnavailable,
    /// The user must authenticate again, more strongly or more recently (401, RFC 9470).
    InsufficientUserAuthentication,
    /// The operation is for members of an organization, and the token was issued outside one (403).
    OrganizationRequired,
    /// The token was issued for another organization than the operation's (403).
    OrganizationMismatch,
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
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorCode::OrganizationRequired => "organization_required",
            ErrorCode::OrganizationMismatch => "organization_mismatch",
        }
    }
}
