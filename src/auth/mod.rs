//! Everything token-related. A request to a protected operation goes, in order, through:
//!
//! 1. **the credentials** — [`AccessToken`] (`scheme.rs`) reads one `Authorization` header:
//!    `Bearer <token>`, or `DPoP <token>` with one `DPoP` proof header; `dpop.mode`
//!    ([`DpopMode`]) says which are accepted. [`OptionalAccessToken`] lets an operation run
//!    without the header, and checks credentials that are sent the same way;
//! 2. **the verifier** (`verifier.rs`) — size limit, the [`TokenCache`] of tokens verified
//!    before, the strictly read JOSE header (`token_header.rs`) and claims (`claims.rs`), whose
//!    `iss` picks the [`TrustedIssuer`]; then that issuer's `alg` allow-list, `crit`, and `typ`
//!    under its RFC 9068 [`TokenProfile`] — all before any network call;
//! 3. **the key store** ([`jwks`]) — the key for the header's `kid`: the issuer's [`KeyStore`]
//!    answers from its moka cache, or fetches through [`JwksSource`] as its [`RefreshPolicy`]
//!    allows;
//! 4. **the signature**, checked with that key in `verifier.rs`;
//! 5. **the claim rules** — the issuer's [`ClaimRules`] on the claims, trusted now: issuer,
//!    audience, `exp`, `nbf`, `iat`, and the claims the token profile requires;
//! 6. **the binding** — a bearer token must not be bound to a key (`cnf`); a DPoP token must be,
//!    and its proof is checked by the [`DpopChecker`] ([`dpop`]): signature, method, URL, age,
//!    token hash, key thumbprint, and a `jti` never seen before in its [`ReplayStore`];
//! 7. **the claims** reach the operation inside [`AccessToken`]; a scope the operation needs is
//!    checked by [`ScopeDenied`] (`scope.rs`), which also documents the 403 in the spec.
//!
//! A failure at any step is an [`AuthError`] ([`answers`]): 8. **error** → status, body and a
//! challenge per offered scheme, from [`AuthChallenge`] with the RFC 9728 metadata link.
//! The steps report to an [`AuthObserver`] (the metrics), never to a concrete metrics type.

mod answers;
mod claim_rules;
mod claims;
pub mod dpop;
mod json_object;
mod jwks;
mod observer;
mod scheme;
mod scope;
mod token_cache;
mod token_header;
mod verifier;

pub use answers::{
    AuthChallenge, AuthError, ErrorBody, ErrorCode, InvalidRequest, JsonProblem, Malformed, OfferedSchemes,
    ProofRejection, RESOURCE_METADATA_PATH, Refusal, RejectionReason, ResourceMetadata, TokenPart, TokenRejection,
    resource_metadata_path, serve_resource_metadata,
};
pub use claim_rules::{ClaimRules, TokenProfile};
pub use claims::{Claims, ClaimsError, Scopes};
pub use dpop::{
    DPOP_HEADER, DPOP_NONCE_HEADER, DpopChecker, DpopMode, ProofPolicy, ProofTarget, PublicUrl, ReplayStore,
    proof_header,
};
pub use jwks::{
    Failures, FetchError, FetchLimits, JwksSource, KeyHealth, KeySet, KeySetError, KeyStore, LoginEndpoints,
    ProviderUrl, RefreshPolicy, TransportFailure, UrlRefused,
};
pub use observer::{AuthObserver, FetchOutcome};
pub use scheme::{AccessToken, BEARER_SCHEME, DPOP_SCHEME, OptionalAccessToken};
pub use scope::{RequiredScope, ScopeDenied};
pub use token_cache::{CacheBounds, TokenCache};
pub use verifier::{TokenPolicy, TrustedIssuer, Verifier, unix_now};
