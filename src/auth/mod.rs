//! Everything token-related. A request to a protected operation goes, in order, through:
//!
//! 1. **the header** — poem-openapi extracts `Authorization: Bearer <token>` for the
//!    [`BearerAuth`] security scheme (`scheme.rs`); with no such header it never calls the checker
//!    and [`BearerChallenge`] answers instead (step 8). [`OptionalBearerAuth`] lets an operation
//!    run without the header, and checks a token that is sent the same way;
//! 2. **the scheme checker** — `scheme.rs` refuses a second `Authorization` header and hands the
//!    token to the [`Verifier`] attached to the routes;
//! 3. **the verifier** (`verifier.rs`) — size limit, the [`TokenCache`] of tokens verified
//!    before, the strictly read JOSE header (`token_header.rs`) and claims (`claims.rs`), whose
//!    `iss` picks the [`TrustedIssuer`]; then that issuer's `alg` allow-list, `crit`, and `typ`
//!    under its RFC 9068 [`TokenProfile`] — all before any network call;
//! 4. **the key store** ([`jwks`]) — the key for the header's `kid`: the issuer's [`KeyStore`]
//!    answers from its moka cache, or fetches through [`JwksSource`] as its [`RefreshPolicy`]
//!    allows;
//! 5. **the signature**, checked with that key in `verifier.rs`;
//! 6. **the claim rules** — the issuer's [`ClaimRules`] on the claims, trusted now: issuer,
//!    audience, `exp`, `nbf`, `iat`, and the claims the token profile requires;
//! 7. **the claims** reach the operation inside [`BearerAuth`]; a scope the operation needs is
//!    checked by [`ScopeDenied`] (`scope.rs`), which also documents the 403 in the spec.
//!
//! A failure at any step is an [`AuthError`] ([`answers`]): 8. **error** → status, body and
//! RFC 6750 **challenge**, completed by [`BearerChallenge`] with the RFC 9728 metadata link.
//! The steps report to an [`AuthObserver`] (the metrics), never to a concrete metrics type.

mod answers;
mod claim_rules;
mod claims;
mod json_object;
mod jwks;
mod observer;
mod scheme;
mod scope;
mod token_cache;
mod token_header;
mod verifier;

pub use answers::{
    AuthError, BearerChallenge, ErrorBody, ErrorCode, InvalidRequest, JsonProblem, Malformed, RESOURCE_METADATA_PATH,
    Refusal, RejectionReason, ResourceMetadata, TokenPart, TokenRejection, resource_metadata_path,
    serve_resource_metadata,
};
pub use claim_rules::{ClaimRules, TokenProfile};
pub use claims::{Audience, Claims, Scopes};
pub use jwks::{
    Failures, FetchError, FetchLimits, JwksSource, KeyHealth, KeySet, KeySetError, KeyStore, ProviderUrl,
    RefreshPolicy, TransportFailure, UrlRefused,
};
pub use observer::{AuthObserver, FetchOutcome};
pub use scheme::{BearerAuth, OptionalBearerAuth};
pub use scope::{RequiredScope, ScopeDenied};
pub use token_cache::TokenCache;
pub use verifier::{TokenPolicy, TrustedIssuer, Verifier, unix_now};
