//! Why a DPoP proof (RFC 9449 §4.3) was refused: each rule of the check has its own variant and
//! its own text, which never echoes the proof.

use crate::{
    dpop::NonceProblem,
    rejection::{JsonProblem, TokenPart},
};

/// Why a DPoP proof was refused (401 `invalid_dpop_proof`, or `use_dpop_nonce`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofRejection {
    /// `Authorization: DPoP` without a `DPoP` header.
    #[error("the request uses the DPoP scheme but carries no DPoP header with a proof")]
    Missing,
    /// More than one `DPoP` header.
    #[error("the request carries more than one DPoP header")]
    Several,
    /// Longer than the limit; not parsed.
    #[error("the DPoP proof is longer than {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Not three dot-separated parts.
    #[error("the DPoP proof is not a compact JWS (three base64url parts separated by dots)")]
    NotAJws,
    /// A part is not base64url.
    #[error("the DPoP proof's {0} is not base64url")]
    NotBase64(TokenPart),
    /// The header is not a JSON object of the expected types.
    #[error("the DPoP proof's header is not valid: {0}")]
    Header(JsonProblem),
    /// The claims are not a JSON object of the expected types.
    #[error("the DPoP proof's claims are not valid: {0}")]
    Claims(JsonProblem),
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt{}", found(typ.as_deref()))]
    WrongType {
        /// The header's `typ`, reduced to safe characters.
        typ: Option<String>,
    },
    /// `alg` is `none`, symmetric, or not in `dpop.algorithms`.
    #[error("the DPoP proof's algorithm {alg} is not accepted (accepted: {accepted})")]
    AlgorithmNotAllowed {
        /// The header's `alg`, reduced to safe characters.
        alg: String,
        /// The configured algorithms.
        accepted: String,
    },
    /// A `crit` header names extensions this service does not understand.
    #[error("the DPoP proof has a crit header, which this service does not support")]
    CriticalHeader,
    /// No `jwk` header.
    #[error("the DPoP proof has no jwk header with the client's public key")]
    MissingKey,
    /// The `jwk` holds private key members.
    #[error("the DPoP proof's jwk holds a private key: send only the public key")]
    PrivateKey,
    /// The `jwk` is not a public key usable with `alg`.
    #[error("the DPoP proof's jwk is not usable: {0}")]
    UnusableKey(String),
    /// The signature does not verify with the `jwk`.
    #[error("the DPoP proof's signature does not verify with its jwk")]
    BadSignature,
    /// A claim every proof must carry is absent.
    #[error("the DPoP proof has no {0} claim")]
    MissingClaim(&'static str),
    /// `jti` is empty or longer than the limit.
    #[error("the DPoP proof's jti must have 1 to {limit} characters")]
    BadJti {
        /// The longest `jti` accepted.
        limit: usize,
    },
    /// `htm` is not the request's method.
    #[error("the DPoP proof's htm {htm} is not the request's method {method}")]
    MethodMismatch {
        /// The proof's `htm`, reduced to safe characters.
        htm: String,
        /// The request's method.
        method: String,
    },
    /// `htu` is not the request's URL.
    #[error("the DPoP proof's htu is not the URL of this request: expected {expected}")]
    UrlMismatch {
        /// The URL the proof must name (the service's public URL and the request's path).
        expected: String,
    },
    /// `iat` is older than `dpop.max_age`.
    #[error("the DPoP proof was made more than {max_age} s ago: make a new proof for every request")]
    Stale {
        /// `dpop.max_age` in seconds.
        max_age: u64,
    },
    /// `iat` is further ahead than `dpop.leeway`.
    #[error("the DPoP proof's iat is in the future (check the client's clock)")]
    FromTheFuture,
    /// `exp` is further in the past than `dpop.leeway`.
    #[error("the DPoP proof expired (its exp is in the past): make a new proof for every request")]
    Expired,
    /// The nonce this service requires is absent or no longer current (`use_dpop_nonce`).
    #[error("{0}")]
    Nonce(NonceProblem),
    /// `ath` is not the hash of the access token sent with it.
    #[error("the DPoP proof's ath is not the SHA-256 hash of the access token sent with it")]
    TokenHashMismatch,
    /// The same proof was presented before.
    #[error("the DPoP proof was used before (its jti was seen): make a new proof for every request")]
    Replayed,
}

fn found(typ: Option<&str>) -> String {
    match typ {
        Some(typ) => format!(", not {typ}"),
        None => " (it has none)".to_owned(),
    }
}
