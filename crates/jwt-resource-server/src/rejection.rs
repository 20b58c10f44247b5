//! Why a request was refused — the credentials, the token, the proof, a requirement, or the
//! service's own state — and the parts of the answer that say so: the HTTP status, the `error`
//! code (RFC 6750 §3, RFC 9449 §7.1), a description for the caller, and the parameters of the
//! challenge. How they are written on the wire is the web framework's adapter's job.

use std::time::Duration;

use crate::{
    code::ErrorCode, decryption::JweRejection, dpop::ReplayUnavailable, proof_rejection::ProofRejection,
    requirement::Denial,
};

/// Every way authentication or authorization can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` (or `DPoP`) credentials at all (RFC 6750 §3.1: no error code).
    #[error("the request carries no bearer token: send Authorization: Bearer <access token>")]
    MissingCredentials,
    /// The credentials are malformed.
    #[error("{0}")]
    InvalidRequest(InvalidRequest),
    /// The token is not acceptable.
    #[error("{0}")]
    InvalidToken(TokenRejection),
    /// The token is valid, but a requirement of the operation refused it (a scope, sender
    /// constraining, …).
    #[error("{0}")]
    Denied(Denial),
    /// The issuer's signing keys cannot be obtained and none usable are cached.
    #[error("the identity provider's signing keys cannot be obtained right now; retry later")]
    KeysUnavailable {
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// The DPoP proof is not acceptable (RFC 9449 §7.1: `invalid_dpop_proof`).
    #[error("{0}")]
    InvalidProof(ProofRejection),
    /// The DPoP proof's `jti` cannot be checked against the proofs seen before.
    #[error("the DPoP proof cannot be checked for replay right now ({0}); retry later")]
    ReplayCheckUnavailable(ReplayUnavailable),
}

/// A malformed `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// `Authorization: Bearer` or `DPoP` without a token.
    #[error("the Authorization header names its scheme (Bearer or DPoP) but carries no token")]
    EmptyToken,
    /// More than one `Authorization` header.
    #[error("the request carries more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// `Authorization: Bearer` with a `DPoP` header.
    #[error("a request with a DPoP proof must send its token as Authorization: DPoP <token>, not Bearer")]
    BearerWithProof,
}

/// Why a token was rejected. The texts help the caller and never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRejection {
    /// Longer than the configured limit; not parsed.
    #[error("the token is longer than {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not three dot-separated parts.
    #[error(
        "the token is not a signed JWT (it looks opaque or encrypted): request it with the audience parameter of this API"
    )]
    NotAJwt,
    /// The header, payload or signature cannot be decoded.
    #[error("the token is malformed: {0}")]
    Malformed(Malformed),
    /// An encrypted token (JWE) that is not accepted or does not decrypt.
    #[error("{0}")]
    Encrypted(JweRejection),
    /// `alg` is `none`, symmetric, or not in the allow-list.
    #[error("the token's algorithm {alg} is not accepted (accepted: {accepted})")]
    AlgorithmNotAllowed {
        /// The header's `alg`.
        alg: String,
        /// The configured allow-list.
        accepted: String,
    },
    /// Not an access token by the RFC 9068 profile: `typ` is absent or not `at+jwt`.
    #[error("{}", not_an_access_token(typ.as_deref()))]
    NotAnAccessToken {
        /// The header's `typ`, reduced to safe characters.
        typ: Option<String>,
    },
    /// A `crit` header names extensions this service does not understand.
    #[error("the token has a crit header, which this service does not support")]
    CriticalHeader,
    /// No `kid` while several keys could have signed it.
    #[error("the token has no kid and the issuer's key set has {keys} keys for its algorithm")]
    MissingKid {
        /// How many keys fit the algorithm.
        keys: usize,
    },
    /// `kid` is not in the issuer's key set.
    #[error("signing key kid={kid} is not in the issuer's key set")]
    UnknownKid {
        /// The header's `kid`.
        kid: String,
    },
    /// The key named by `kid` cannot verify the header's `alg`.
    #[error("signing key kid={kid} cannot verify {alg} signatures")]
    KeyAlgorithmMismatch {
        /// The header's `kid`.
        kid: String,
        /// The header's `alg`.
        alg: String,
    },
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the token expired at {}", rfc3339(*at))]
    Expired {
        /// The token's `exp`.
        at: i64,
    },
    /// `nbf` is in the future.
    #[error("the token is not valid before {}", rfc3339(*at))]
    NotYetValid {
        /// The token's `nbf`.
        at: i64,
    },
    /// `iat` is further in the future than the leeway allows.
    #[error("the token was issued in the future, at {} (check the issuer's clock)", rfc3339(*at))]
    IssuedInTheFuture {
        /// The token's `iat`.
        at: i64,
    },
    /// A claim every token must carry is absent.
    #[error("the token has no {0} claim")]
    MissingClaim(&'static str),
    /// `aud` does not contain this API.
    #[error("audience mismatch: expected {expected}")]
    BadAudience {
        /// The configured audience.
        expected: String,
    },
    /// `iss` is not a trusted issuer.
    #[error("issuer mismatch: expected {expected}; the token's issuer {found} is not trusted")]
    BadIssuer {
        /// The trusted issuers.
        expected: String,
        /// The token's `iss`, without control characters.
        found: String,
    },
    /// A token bound to a key (`cnf`) sent as a bearer token: whoever holds a copy could use it.
    #[error(
        "the token is bound to a key (cnf claim): send it as Authorization: DPoP <token> with a DPoP proof signed by that key"
    )]
    BoundTokenAsBearer,
    /// A token without `cnf.jkt` sent under the DPoP scheme.
    #[error("the token is not bound to a DPoP key (it has no cnf.jkt claim), so the DPoP scheme cannot carry it")]
    NotBound,
    /// A bearer token while `dpop.mode` is `required`.
    #[error("this API accepts only DPoP-bound tokens: send Authorization: DPoP <token> with a DPoP proof")]
    BearerRefused,
    /// A DPoP-bound token presented with a proof signed by another key: the token is not this
    /// client's (RFC 9449 §7.1 treats it as an invalid token).
    #[error("the access token is bound to another key: its cnf.jkt is not the thumbprint of the proof's jwk")]
    KeyMismatch,
}

/// What was malformed in a token that has the three parts of a compact JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// A part is not base64url.
    #[error("{0} is not base64url")]
    NotBase64(TokenPart),
    /// The JOSE header is not a JSON object of the registered types.
    #[error("the header is not valid: {0}")]
    Header(JsonProblem),
    /// The claims are not a JSON object of the registered types.
    #[error("the claims are not valid: {0}")]
    Claims(JsonProblem),
    /// The claims do not have the form of the custom claims the operation reads.
    #[error("the claims do not have the form this operation reads: {0}")]
    CustomClaims(JsonProblem),
}

/// One of the three parts of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenPart {
    /// The JOSE header.
    #[error("the header")]
    Header,
    /// The claims.
    #[error("the payload")]
    Payload,
    /// The signature.
    #[error("the signature")]
    Signature,
}

/// What a strict JSON reader found wrong, in serde_json's words without the position (which
/// would point into the decoded bytes, not the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonProblem(String);

impl From<&serde_json::Error> for JsonProblem {
    fn from(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        // serde_json quotes the value it did not expect, which comes from the token.
        JsonProblem(echoed(text.rsplit_once(" at line ").map_or(text.as_str(), |(what, _)| what)))
    }
}

/// The longest text copied from a request (a token's `kid`, `iss`, a JSON problem) into an
/// answer or a log line, in characters.
pub const MAX_ECHOED_CHARS: usize = 128;

/// `text` as an answer or a log line may quote it: without control characters, and cut to
/// [`MAX_ECHOED_CHARS`] with `…` when longer.
pub fn echoed(text: &str) -> String {
    let mut kept = text.chars().filter(|c| !c.is_control());
    let mut out: String = kept.by_ref().take(MAX_ECHOED_CHARS).collect();
    if kept.next().is_some() {
        out.push('…');
    }
    out
}

/// Why a request was refused, as a closed set of labels for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    /// No bearer token.
    MissingToken,
    /// Malformed credentials or token.
    Malformed,
    /// An encrypted token whose header is not accepted, or without a key to decrypt it.
    JweNotAccepted,
    /// An encrypted token that does not decrypt with the keys.
    JweUndecryptable,
    /// `alg` refused, or a `crit` header.
    AlgNotAllowed,
    /// Not an access token (RFC 9068 `typ`).
    WrongType,
    /// `kid` not in the key set (or no `kid` with several keys).
    UnknownKid,
    /// The signature does not verify with the key.
    BadSignature,
    /// `exp` passed.
    Expired,
    /// `nbf` or `iat` ahead.
    NotYetValid,
    /// `iss`, `aud` or `exp` missing.
    MissingClaim,
    /// `aud` does not contain this API.
    BadAudience,
    /// `iss` is not the issuer.
    BadIssuer,
    /// A requirement of the operation refused the token; its label (`insufficient_scope`, …).
    Denied(&'static str),
    /// No usable signing keys.
    KeysUnavailable,
    /// No DPoP proof with the DPoP scheme, or several.
    DpopProofMissing,
    /// A DPoP proof that cannot be read, or lacks what it needs.
    DpopProofMalformed,
    /// A DPoP proof's `alg` refused.
    DpopAlgNotAllowed,
    /// A DPoP proof's signature does not verify with its key.
    DpopBadSignature,
    /// A DPoP proof for another method.
    DpopMethodMismatch,
    /// A DPoP proof for another URL.
    DpopUrlMismatch,
    /// A DPoP proof too old, expired, or from the future.
    DpopStale,
    /// A DPoP proof without the current server-issued nonce.
    DpopNonce,
    /// A DPoP proof for another token (`ath`).
    DpopTokenHashMismatch,
    /// A DPoP proof signed by a key the token is not bound to.
    DpopKeyMismatch,
    /// A DPoP proof presented again.
    DpopReplayed,
    /// A bearer token under the DPoP scheme.
    DpopTokenNotBound,
    /// A DPoP-bound token under the Bearer scheme.
    DpopBoundTokenAsBearer,
    /// A bearer token while DPoP is required.
    DpopBearerRefused,
    /// A Bearer request that carries a DPoP proof.
    DpopBearerWithProof,
    /// The replay store could not answer.
    DpopReplayUnavailable,
}

impl RejectionReason {
    /// The label, e.g. `bad_audience`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionReason::MissingToken => "missing_token",
            RejectionReason::Malformed => "malformed",
            RejectionReason::JweNotAccepted => "jwe_not_accepted",
            RejectionReason::JweUndecryptable => "jwe_undecryptable",
            RejectionReason::AlgNotAllowed => "alg_not_allowed",
            RejectionReason::WrongType => "wrong_type",
            RejectionReason::UnknownKid => "unknown_kid",
            RejectionReason::BadSignature => "bad_signature",
            RejectionReason::Expired => "expired",
            RejectionReason::NotYetValid => "not_yet_valid",
            RejectionReason::MissingClaim => "missing_claim",
            RejectionReason::BadAudience => "bad_audience",
            RejectionReason::BadIssuer => "bad_issuer",
            RejectionReason::Denied(label) => label,
            RejectionReason::KeysUnavailable => "keys_unavailable",
            RejectionReason::DpopProofMissing => "dpop_proof_missing",
            RejectionReason::DpopProofMalformed => "dpop_proof_malformed",
            RejectionReason::DpopAlgNotAllowed => "dpop_alg_not_allowed",
            RejectionReason::DpopBadSignature => "dpop_bad_signature",
            RejectionReason::DpopMethodMismatch => "dpop_method_mismatch",
            RejectionReason::DpopUrlMismatch => "dpop_url_mismatch",
            RejectionReason::DpopStale => "dpop_stale",
            RejectionReason::DpopNonce => "dpop_nonce",
            RejectionReason::DpopTokenHashMismatch => "dpop_token_hash_mismatch",
            RejectionReason::DpopKeyMismatch => "dpop_key_mismatch",
            RejectionReason::DpopReplayed => "dpop_replayed",
            RejectionReason::DpopTokenNotBound => "dpop_token_not_bound",
            RejectionReason::DpopBoundTokenAsBearer => "dpop_bound_token_as_bearer",
            RejectionReason::DpopBearerRefused => "dpop_bearer_refused",
            RejectionReason::DpopBearerWithProof => "dpop_bearer_with_proof",
            RejectionReason::DpopReplayUnavailable => "dpop_replay_unavailable",
        }
    }
}

impl TokenRejection {
    /// Why, as a label.
    pub fn reason(&self) -> RejectionReason {
        match self {
            TokenRejection::TooLong { .. } | TokenRejection::NotAJwt | TokenRejection::Malformed(_) => {
                RejectionReason::Malformed
            }
            TokenRejection::Encrypted(JweRejection::Undecryptable | JweRejection::Malformed(_)) => {
                RejectionReason::JweUndecryptable
            }
            TokenRejection::Encrypted(_) => RejectionReason::JweNotAccepted,
            TokenRejection::AlgorithmNotAllowed { .. } | TokenRejection::CriticalHeader => {
                RejectionReason::AlgNotAllowed
            }
            TokenRejection::NotAnAccessToken { .. } => RejectionReason::WrongType,
            TokenRejection::MissingKid { .. } | TokenRejection::UnknownKid { .. } => RejectionReason::UnknownKid,
            TokenRejection::KeyAlgorithmMismatch { .. } | TokenRejection::BadSignature => RejectionReason::BadSignature,
            TokenRejection::Expired { .. } => RejectionReason::Expired,
            TokenRejection::NotYetValid { .. } | TokenRejection::IssuedInTheFuture { .. } => {
                RejectionReason::NotYetValid
            }
            TokenRejection::MissingClaim(_) => RejectionReason::MissingClaim,
            TokenRejection::BadAudience { .. } => RejectionReason::BadAudience,
            TokenRejection::BadIssuer { .. } => RejectionReason::BadIssuer,
            TokenRejection::BoundTokenAsBearer => RejectionReason::DpopBoundTokenAsBearer,
            TokenRejection::NotBound => RejectionReason::DpopTokenNotBound,
            TokenRejection::BearerRefused => RejectionReason::DpopBearerRefused,
            TokenRejection::KeyMismatch => RejectionReason::DpopKeyMismatch,
        }
    }
}

impl ProofRejection {
    /// Why, as a label.
    pub fn reason(&self) -> RejectionReason {
        match self {
            ProofRejection::Missing | ProofRejection::Several => RejectionReason::DpopProofMissing,
            ProofRejection::TooLong { .. }
            | ProofRejection::NotAJws
            | ProofRejection::NotBase64(_)
            | ProofRejection::Header(_)
            | ProofRejection::Claims(_)
            | ProofRejection::WrongType { .. }
            | ProofRejection::CriticalHeader
            | ProofRejection::MissingKey
            | ProofRejection::PrivateKey
            | ProofRejection::UnusableKey(_)
            | ProofRejection::MissingClaim(_)
            | ProofRejection::BadJti { .. } => RejectionReason::DpopProofMalformed,
            ProofRejection::AlgorithmNotAllowed { .. } => RejectionReason::DpopAlgNotAllowed,
            ProofRejection::BadSignature => RejectionReason::DpopBadSignature,
            ProofRejection::MethodMismatch { .. } => RejectionReason::DpopMethodMismatch,
            ProofRejection::UrlMismatch { .. } => RejectionReason::DpopUrlMismatch,
            ProofRejection::Stale { .. } | ProofRejection::FromTheFuture | ProofRejection::Expired => {
                RejectionReason::DpopStale
            }
            ProofRejection::Nonce(_) => RejectionReason::DpopNonce,
            ProofRejection::TokenHashMismatch => RejectionReason::DpopTokenHashMismatch,
            ProofRejection::Replayed => RejectionReason::DpopReplayed,
        }
    }
}

impl From<ProofRejection> for AuthError {
    fn from(rejection: ProofRejection) -> Self {
        AuthError::InvalidProof(rejection)
    }
}

impl From<TokenRejection> for AuthError {
    fn from(rejection: TokenRejection) -> Self {
        AuthError::InvalidToken(rejection)
    }
}

impl AuthError {
    /// The `error` code of the answer's body and challenge.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::MissingCredentials => ErrorCode::Unauthorized,
            AuthError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            AuthError::InvalidToken(_) => ErrorCode::InvalidToken,
            AuthError::Denied(denial) => denial.code,
            AuthError::KeysUnavailable { .. } | AuthError::ReplayCheckUnavailable(_) => {
                ErrorCode::TemporarilyUnavailable
            }
            AuthError::InvalidProof(ProofRejection::Nonce(_)) => ErrorCode::UseDpopNonce,
            AuthError::InvalidProof(_) => ErrorCode::InvalidDpopProof,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingCredentials | AuthError::InvalidToken(_) | AuthError::InvalidProof(_) => 401,
            AuthError::InvalidRequest(_) => 400,
            AuthError::Denied(denial) => denial.status,
            AuthError::KeysUnavailable { .. } | AuthError::ReplayCheckUnavailable(_) => 503,
        }
    }

    /// Why, as a label.
    pub fn reason(&self) -> RejectionReason {
        match self {
            AuthError::MissingCredentials => RejectionReason::MissingToken,
            AuthError::InvalidRequest(InvalidRequest::BearerWithProof) => RejectionReason::DpopBearerWithProof,
            AuthError::InvalidRequest(_) => RejectionReason::Malformed,
            AuthError::InvalidToken(rejection) => rejection.reason(),
            AuthError::Denied(denial) => RejectionReason::Denied(denial.reason),
            AuthError::KeysUnavailable { .. } => RejectionReason::KeysUnavailable,
            AuthError::InvalidProof(rejection) => rejection.reason(),
            AuthError::ReplayCheckUnavailable(_) => RejectionReason::DpopReplayUnavailable,
        }
    }

    /// When a retry may succeed, for a 503.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::KeysUnavailable { retry_after } => Some(*retry_after),
            AuthError::ReplayCheckUnavailable(unavailable) => Some(unavailable.retry_after()),
            _ => None,
        }
    }

    /// Whether the answer carries `WWW-Authenticate` challenges (a 503 does not).
    pub fn challenges(&self) -> bool {
        self.retry_after().is_none()
    }

    /// Whether the failure is about the DPoP proof, so that the DPoP challenge says it.
    pub fn is_about_the_proof(&self) -> bool {
        matches!(self, AuthError::InvalidProof(_))
    }

    /// The parameters that say what failed, for the challenge of the scheme the request used:
    /// `error`, `error_description` and what a requirement adds (`scope`, …); none without
    /// credentials.
    pub fn challenge_error(&self) -> Option<String> {
        let description = quoted(&self.to_string());
        let code = self.code().as_str();
        match self {
            AuthError::MissingCredentials
            | AuthError::KeysUnavailable { .. }
            | AuthError::ReplayCheckUnavailable(_) => None,
            AuthError::InvalidRequest(_) | AuthError::InvalidToken(_) | AuthError::InvalidProof(_) => {
                Some(format!("error=\"{code}\", error_description=\"{description}\""))
            }
            AuthError::Denied(denial) => {
                let mut params = format!("error=\"{code}\", error_description=\"{description}\"");
                for (name, value) in &denial.challenge {
                    params.push_str(&format!(", {name}=\"{}\"", quoted(value)));
                }
                Some(params)
            }
        }
    }
}

fn not_an_access_token(typ: Option<&str>) -> String {
    let found = match typ {
        Some("") => "the token's typ is empty".to_owned(),
        Some(typ) => format!("the token's typ is {typ}, not at+jwt"),
        None => "the token has no typ header".to_owned(),
    };
    format!("{found}: this API accepts only RFC 9068 access tokens; an ID token or another JWT is refused")
}

/// Keeps only the characters RFC 6750 allows inside a quoted challenge value
/// (%x20-21 / %x23-5B / %x5D-7E): quotes and backslashes become `'`, others are dropped.
pub(crate) fn quoted(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '"' | '\\' => Some('\''),
            ' '..='~' => Some(c),
            _ => None,
        })
        .collect()
}

/// A Unix time as `2026-11-26T10:00:00Z`; as the number of seconds past the year 9999, which
/// RFC 3339 cannot write.
fn rfc3339(seconds: i64) -> String {
    const LAST_RFC3339_SECOND: u64 = 253_402_300_799;
    u64::try_from(seconds)
        .ok()
        .filter(|seconds| *seconds <= LAST_RFC3339_SECOND)
        .map(|seconds| {
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
        })
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_values_stay_within_rfc6750_characters() {
        let problem = JsonProblem("bad \"quote\" \\ and é".into());
        let error = AuthError::InvalidToken(TokenRejection::Malformed(Malformed::Claims(problem)));
        assert_eq!(
            error.challenge_error().unwrap(),
            "error=\"invalid_token\", error_description=\"the token is malformed: the claims are not valid: bad 'quote' ' and \""
        );
    }

    #[test]
    fn json_problems_leave_out_the_position() {
        let error = serde_json::from_str::<String>("5").unwrap_err();
        assert_eq!(JsonProblem::from(&error).to_string(), "invalid type: integer `5`, expected a string");
    }

    #[test]
    fn values_from_a_request_are_quoted_bounded_and_without_control_characters() {
        assert_eq!(echoed("key-1"), "key-1");
        assert_eq!(echoed("a\r\nb\u{1b}[31m"), "ab[31m");
        let long = echoed(&"k".repeat(11_500));
        assert_eq!(long.chars().count(), MAX_ECHOED_CHARS + 1);
        assert!(long.ends_with('…'));
        let error = serde_json::from_str::<u64>(&format!("\"{}\"", "x".repeat(5_000))).unwrap_err();
        assert!(JsonProblem::from(&error).to_string().chars().count() <= MAX_ECHOED_CHARS + 1);
    }

    #[test]
    fn expiry_is_written_as_rfc3339() {
        let text = TokenRejection::Expired { at: 1_795_687_200 }.to_string();
        assert_eq!(text, "the token expired at 2026-11-26T10:00:00Z");
        let far = TokenRejection::NotYetValid { at: i64::MAX }.to_string();
        assert_eq!(far, "the token is not valid before 9223372036854775807");
        assert!(TokenRejection::Expired { at: 253_402_300_799 }.to_string().ends_with("9999-12-31T23:59:59Z"));
    }
}
