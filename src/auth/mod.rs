//! Everything token-related: the `BearerAuth` scheme, verification, signing keys, scopes and
//! the RFC 6750 answers to failures.

mod challenge;
mod claim_rules;
mod claims;
mod error;
mod json_object;
mod jwks_source;
mod key_set;
mod key_store;
mod refresh;
mod resource_metadata;
mod responses;
mod scheme;
mod scope;
mod token_cache;
mod token_header;
mod verifier;

pub use challenge::BearerChallenge;
pub use claim_rules::ClaimRules;
pub use claims::{Audience, Claims, Scopes};
pub use error::{AuthError, ErrorBody, InvalidRequest, REALM, Refusal, RejectionReason, TokenRejection};
pub use jwks_source::{FetchError, FetchLimits, JwksSource, is_loopback};
pub use key_set::{KeySet, Lookup, VerifyingKey};
pub use key_store::{KeyHealth, KeyStore};
pub use refresh::RefreshPolicy;
pub use resource_metadata::{
    RESOURCE_METADATA_PATH, ResourceMetadata, resource_metadata_path, serve_resource_metadata,
};
pub use scheme::BearerAuth;
pub use scope::{RequiredScope, ScopeDenied};
pub use token_cache::{TokenCache, TokenKey, VerifiedToken};
pub use verifier::{Verifier, unix_now};
