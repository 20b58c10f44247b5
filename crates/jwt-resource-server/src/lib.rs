//! An OAuth 2.0 resource server's checks of access tokens, for any web framework: JWT access
//! tokens of Auth0 or any OpenID provider, verified against the issuer's published keys, bearer
//! or DPoP-bound (RFC 9449), with what each operation requires. `poem-jwt-resource-server`
//! puts it in front of poem-openapi operations.
//!
//! ```no_run
//! use jwt_resource_server::{Issuer, RequestParts, ResourceServer};
//!
//! # async fn example(headers: http::HeaderMap) -> Result<(), Box<dyn std::error::Error>> {
//! let server = ResourceServer::builder()
//!     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
//!     .audience("https://api.example.com")
//!     .build()?;
//! let request = RequestParts { method: "GET", path: "/api/private", headers: &headers, path_params: &() };
//! let access = server.authenticate::<(), ()>(&request).await?;
//! println!("hello, {}", access.token.claims().sub().unwrap_or("stranger"));
//! # Ok(())
//! # }
//! ```
//!
//! A request goes, in order, through:
//!
//! 1. **the credentials** ([`ResourceServer::authenticate`]): one `Authorization` header,
//!    `Bearer <token>`, or `DPoP <token>` with one `DPoP` proof header; the [`DpopMode`] says
//!    which are accepted;
//! 2. **the verifier** ([`Verifier`]): size limit, the cache of tokens verified before, the
//!    decryption of an encrypted token ([`DecryptionKey`]), the strictly read JOSE header and [`Claims`], whose `iss` picks the [`TrustedIssuer`]; that
//!    issuer's `alg` allow-list, `crit`, and `typ` under its [`TokenProfile`] — all before any
//!    network call;
//! 3. **the key store** ([`KeyStore`]): the key for the header's `kid`, cached, fetched through
//!    [`JwksSource`] as its [`RefreshPolicy`] allows;
//! 4. **the signature**, with that key;
//! 5. **the claim rules**: issuer, audience, `exp`, `nbf`, `iat`, and what the profile requires;
//! 6. **the binding**: a bearer token must not be bound to a key (`cnf`); a DPoP token must be,
//!    and its proof is checked by the [`DpopChecker`] ([`dpop`]): signature, method, URL, age,
//!    token hash, nonce, key thumbprint, and a proof never seen before in its [`ReplayStore`];
//! 7. **the requirement** ([`Requirement`]): a [`Scope`], [`DpopOnly`], an [`Organization`]
//!    (Auth0 Organizations), a [`StepUp`] authentication (RFC 9470), or one of your own.
//!
//! A failure at any step is an [`AuthError`]: its status, [`ErrorCode`], description and
//! challenge parameters ([`ResourceServer::challenges`]). Every time rule reads one [`Clock`].
//! The steps report to an [`AuthObserver`], and are `tracing` spans at the debug level
//! (`verify_token`, `fetch_keys`).

#![deny(missing_docs)]

mod access_policy;
mod builder;
mod claim_rules;
mod claims;
mod clock;
mod code;
mod custom;
mod decryption;
pub mod dpop;
mod jose;
mod json_object;
mod jwks;
mod observer;
mod organization;
mod proof_rejection;
mod rejection;
mod requirement;
mod resource_metadata;
mod resource_server;
mod step_up;
mod token_cache;
mod token_header;
mod usage;
mod verifier;

pub use access_policy::AccessPolicy;
pub use builder::{BuildError, DpopConfig, Issuer, ReplayStoreConfig, ResourceServerBuilder};
pub use claim_rules::TokenProfile;
pub use claims::{Claims, ClaimsError, Scopes};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, Timestamp};
pub use code::ErrorCode;
pub use custom::CustomClaims;
pub use decryption::{DecryptionKey, DecryptionKeyError, JweRejection};
pub use dpop::{DpopChecker, DpopMode, ReplayStore};
pub use jsonwebtoken::Algorithm;
pub use jwks::{
    Failures, FetchError, FetchHeaders, FetchLimits, JwksSource, KeyHealth, KeySet, KeySetError, KeyStore,
    LoginEndpoints, ProviderUrl, RefreshPolicy, TransportFailure, UrlRefused,
};
pub use observer::{AuthObserver, FetchOutcome, NoObserver};
pub use organization::{KnownOrganization, OrgIdParam, Organization, PathOrganization, PathParamName};
pub use proof_rejection::ProofRejection;
pub use rejection::{
    AuthError, InvalidRequest, JsonProblem, MAX_ECHOED_CHARS, Malformed, RejectionReason, TokenPart, TokenRejection,
    echoed,
};
pub use requirement::{Access, Denial, DpopOnly, PathParams, Requirement, RequirementDoc, Scheme, Scope, ScopeName};
pub use resource_metadata::{RESOURCE_METADATA_PATH, ResourceMetadata, resource_metadata_path};
pub use resource_server::{Authenticated, RequestParts, ResourceServer, acr_values_of, scopes_of};
pub use step_up::{AcrClaim, AcrValues, AuthContext, MaxAge, StepUp};
pub use token_cache::CacheBounds;
pub use usage::Usage;
pub use verifier::{TrustedIssuer, Verified, Verifier};
