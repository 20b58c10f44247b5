//! Building a [`ResourceServer`] from what the tutorial's `.env` holds — issuer and audience —
//! with secure defaults for everything else, every value checked at [`build`](ResourceServerBuilder::build).
//!
//! ```
//! use jwt_resource_server::{Issuer, ResourceServer};
//!
//! let server = ResourceServer::builder()
//!     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
//!     .audience("https://api.example.com")
//!     .build()
//!     .unwrap();
//! assert_eq!(server.verifier().issuers()[0].issuer(), "https://your-tenant.us.auth0.com/");
//! ```

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use url::Url;

use crate::{
    access_policy::AccessPolicy,
    claim_rules::{ClaimRules, TokenProfile},
    clock::{SharedClock, SystemClock},
    decryption::{DecryptionKey, DecryptionKeys},
    dpop::{DpopChecker, DpopMode, MIN_SECRET_BYTES, MemoryReplayStore, Nonces, ProofPolicy, PublicUrl, ReplayStore},
    jwks::{FetchError, FetchHeaders, FetchLimits, JwksSource, KeyStore, ProviderUrl, RefreshPolicy, UrlRefused},
    observer::{AuthObserver, NoObserver},
    organization::KnownOrganization,
    resource_metadata::resource_metadata_path,
    resource_server::{ChallengeText, ResourceServer, checked_realm},
    step_up::AcrClaim,
    token_cache::{CacheBounds, TokenCache},
    verifier::{TokenPolicy, TrustedIssuer, Verifier},
};

/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// The longest a DPoP proof, or a nonce, may be accepted.
const MAX_PROOF_AGE: Duration = Duration::from_secs(3600);

/// A trusted issuer and where its keys are, with its own audiences, algorithms and profile when
/// they differ from the builder's.
///
/// ```
/// use jwt_resource_server::{Algorithm, Issuer, ResourceServer, TokenProfile};
///
/// // The tutorial's tenant, and an OpenID provider with its own audience, keys and profile.
/// let server = ResourceServer::builder()
///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
///     .issuer(
///         Issuer::url("https://login.example.com/realms/api")
///             .jwks_url("https://login.example.com/realms/api/protocol/openid-connect/certs")
///             .audience("account-api")
///             .algorithms([Algorithm::RS256, Algorithm::ES256])
///             .token_profile(TokenProfile::Rfc9068),
///     )
///     .audience("https://api.example.com")
///     .build()
///     .unwrap();
/// let issuers: Vec<&str> = server.verifier().issuers().iter().map(|issuer| issuer.issuer()).collect();
/// assert_eq!(issuers, ["https://your-tenant.us.auth0.com/", "https://login.example.com/realms/api"]);
/// ```
#[derive(Debug, Clone)]
pub struct Issuer {
    issuer: String,
    keys: Keys,
    audiences: Option<Vec<String>>,
    algorithms: Option<Vec<Algorithm>>,
    profile: Option<TokenProfile>,
}

#[derive(Debug, Clone)]
enum Keys {
    /// Found by discovery from the issuer.
    Discovered,
    /// At this JWKS URL.
    At(String),
}

impl Issuer {
    /// The issuer whose tokens carry exactly `iss` (`https://your-tenant.us.auth0.com/`, with
    /// Auth0's trailing slash); its keys are found by OpenID discovery.
    pub fn url(iss: impl Into<String>) -> Self {
        Issuer { issuer: iss.into(), keys: Keys::Discovered, audiences: None, algorithms: None, profile: None }
    }

    /// An Auth0 tenant by its domain (`your-tenant.us.auth0.com`, or a custom domain): its
    /// issuer is `https://{domain}/`.
    pub fn auth0_domain(domain: &str) -> Self {
        let host = domain.trim().trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
        Self::url(format!("https://{host}/"))
    }

    /// The issuer whose metadata document (OpenID discovery, or RFC 8414) is at
    /// `discovery_url`: read now, within `limits`, for the exact `issuer` it names (with or
    /// without a trailing slash, which the URL does not tell); its keys are found from it.
    ///
    /// ```no_run
    /// use jwt_resource_server::{FetchLimits, Issuer};
    ///
    /// # async fn example() -> Result<(), jwt_resource_server::FetchError> {
    /// let discovery = "https://accounts.example.com/.well-known/openid-configuration";
    /// let issuer = Issuer::discover(discovery, &FetchLimits::default()).await?;
    /// println!("tokens of {} are trusted", issuer.iss());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn discover(discovery_url: &str, limits: &FetchLimits) -> Result<Self, FetchError> {
        let issuer = JwksSource::issuer_at(discovery_url, limits).await?;
        Ok(Self::url(issuer))
    }

    /// The same issuer, its keys fetched from `jwks_url` rather than found by discovery.
    pub fn jwks_url(mut self, jwks_url: impl Into<String>) -> Self {
        self.keys = Keys::At(jwks_url.into());
        self
    }

    /// The same issuer, its tokens carrying `audience` (instead of the builder's audiences);
    /// repeat for several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.get_or_insert_with(Vec::new).push(audience.into());
        self
    }

    /// The same issuer, its tokens signed with one of `algorithms` (instead of the builder's).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// The same issuer, its tokens of `profile` (instead of the builder's).
    pub fn token_profile(mut self, profile: TokenProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// The exact `iss` of its tokens, as written.
    pub fn iss(&self) -> &str {
        &self.issuer
    }
}

/// Where accepted DPoP proofs are remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayStoreConfig {
    /// In this process, at most `capacity` proofs.
    Memory {
        /// The most proofs held.
        capacity: u64,
    },
    /// In Redis at `url` (`redis://[user:password@]host[:port][/db]`), shared by every replica.
    #[cfg(feature = "redis")]
    Redis {
        /// The Redis URL.
        url: String,
        /// The deadline of one command.
        timeout: Duration,
    },
}

/// DPoP-bound tokens (RFC 9449): what proofs must be, and where they are remembered.
///
/// ```
/// use std::time::Duration;
/// use jwt_resource_server::{DpopConfig, DpopMode, Issuer, ReplayStoreConfig, ResourceServer};
///
/// // DPoP-bound tokens only, proofs carrying a server nonce, remembered in Redis by every replica.
/// let dpop = DpopConfig {
///     mode: DpopMode::Required,
///     nonce_secret: Some(b"a secret of at least 32 bytes, shared by the replicas".to_vec()),
///     replay_store: ReplayStoreConfig::Redis { url: "redis://127.0.0.1:6379".into(), timeout: Duration::from_millis(250) },
///     ..DpopConfig::default()
/// };
/// let server = ResourceServer::builder()
///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
///     .audience("https://api.example.com")
///     .dpop(dpop)
///     .public_url("https://api.example.com")
///     .build()
///     .unwrap();
/// assert_eq!(server.dpop().unwrap().algs(), "ES256 RS256 PS256 EdDSA Ed25519");
/// assert_eq!(server.resource_metadata(["read:messages"], "messages").dpop_bound_access_tokens_required, true);
/// ```
#[derive(Debug, Clone)]
pub struct DpopConfig {
    /// Which schemes are accepted.
    pub mode: DpopMode,
    /// The algorithms a proof may be signed with.
    pub algorithms: Vec<Algorithm>,
    /// How old a proof may be.
    pub max_age: Duration,
    /// How far ahead of the clock a proof's `iat` may be, and how far past its `exp`.
    pub leeway: Duration,
    /// Where accepted proofs are remembered.
    pub replay_store: ReplayStoreConfig,
    /// The secret of server-issued nonces, when proofs must carry one (RFC 9449 §9).
    pub nonce_secret: Option<Vec<u8>>,
    /// How long a nonce is accepted at most.
    pub nonce_lifetime: Duration,
}

impl Default for DpopConfig {
    /// Bearer and DPoP-bound tokens; ES256, RS256, PS256 and EdDSA proofs of at most 60 s, 30 s
    /// ahead; 3,000,000 proofs in memory; no nonces.
    fn default() -> Self {
        DpopConfig {
            mode: DpopMode::Allowed,
            algorithms: vec![Algorithm::ES256, Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA],
            max_age: Duration::from_secs(60),
            leeway: Duration::from_secs(30),
            replay_store: ReplayStoreConfig::Memory { capacity: 3_000_000 },
            nonce_secret: None,
            nonce_lifetime: Duration::from_secs(30),
        }
    }
}

/// Why a resource server could not be built: each names the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer is trusted.
    #[error("no issuer is trusted: give one with .issuer(Issuer::auth0_domain(..)) or Issuer::url(..)")]
    NoIssuer,
    /// An issuer has no audience, and the builder none either.
    #[error("the issuer {issuer} has no audience: give the API's identifier with .audience(..)")]
    NoAudience {
        /// The issuer.
        issuer: String,
    },
    /// An issuer or key set URL breaks the URL policy.
    #[error("{url:?} {why}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        why: UrlRefused,
    },
    /// An issuer is listed twice.
    #[error("the issuer {0} is listed twice")]
    DuplicateIssuer(String),
    /// No algorithm is accepted.
    #[error("no signature algorithm is accepted")]
    NoAlgorithm,
    /// A shared-secret algorithm was listed.
    #[error("{0:?} is a shared-secret algorithm and is never accepted")]
    SharedSecretAlgorithm(Algorithm),
    /// A leeway over the maximum.
    #[error("a leeway of {0:?} is above the 60 s maximum")]
    LeewayTooLarge(Duration),
    /// A limit of zero.
    #[error("{0} must be above 0")]
    Zero(&'static str),
    /// A DPoP `max_age` or nonce lifetime over an hour.
    #[error("{0} is above the 1 h maximum")]
    TooLong(&'static str),
    /// DPoP is on, but the service's public URL, which proofs name, is not known.
    #[error("DPoP proofs name the URL they are for: give the URL clients call with .public_url(..)")]
    PublicUrlNeeded,
    /// The public URL is not an http(s) URL.
    #[error("the public URL {0:?} is not an http(s) URL")]
    PublicUrl(String),
    /// The nonce secret is too short.
    #[error("the DPoP nonce secret has {0} bytes: use at least 32")]
    NonceSecretTooShort(usize),
    /// The realm has characters a challenge cannot quote.
    #[error("the realm {0:?} must be printable ASCII without quotes or backslashes")]
    Realm(String),
    /// Two decryption keys have the same `kid`.
    #[error("two decryption keys have the kid {0}")]
    DuplicateDecryptionKey(String),
    /// The HTTP client or the Redis client could not be made.
    #[error("{0}")]
    Client(String),
}

/// Builds a [`ResourceServer`]; see [`ResourceServer::builder`].
#[must_use]
pub struct ResourceServerBuilder {
    issuers: Vec<Issuer>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    profile: TokenProfile,
    max_token_bytes: usize,
    token_cache: Option<CacheBounds>,
    refresh: RefreshPolicy,
    fetch_limits: FetchLimits,
    fetch_headers: Option<FetchHeaders>,
    dpop: Option<DpopConfig>,
    public_url: Option<String>,
    realm: String,
    policy: AccessPolicy,
    decryption_keys: Vec<DecryptionKey>,
    observer: Arc<dyn AuthObserver>,
    clock: SharedClock,
}

impl ResourceServer {
    /// A builder with secure defaults: RS256 only, a leeway of 10 s, any JWT profile, tokens of
    /// at most 16 KiB, a token cache of 32 MiB, Auth0's key refresh defaults (10 min TTL, 30 s
    /// cooldown), DPoP off, the realm `api`.
    pub fn builder() -> ResourceServerBuilder {
        ResourceServerBuilder {
            issuers: Vec::new(),
            audiences: Vec::new(),
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(10),
            profile: TokenProfile::Any,
            max_token_bytes: 16_384,
            token_cache: Some(CacheBounds::default()),
            refresh: RefreshPolicy::default(),
            fetch_limits: FetchLimits::default(),
            fetch_headers: None,
            dpop: None,
            public_url: None,
            realm: "api".to_owned(),
            policy: AccessPolicy::default(),
            decryption_keys: Vec::new(),
            observer: Arc::new(NoObserver),
            clock: Arc::new(SystemClock),
        }
    }
}

impl ResourceServerBuilder {
    /// Trusts `issuer`; call again for several (their tokens are told apart by `iss`).
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Tokens must carry `audience` in `aud` (the API's identifier); call again to accept several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The signature algorithms accepted (default RS256; `none` and HS* are never accepted).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The clock skew tolerated on `exp`, `nbf` and `iat` (default 10 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// What kind of JWT an access token must be (default [`TokenProfile::Any`]).
    pub fn token_profile(mut self, profile: TokenProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Tokens longer than this many bytes are refused unparsed (default 16 KiB).
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The cache of verified tokens within `bounds`, or none (`None`).
    pub fn token_cache(mut self, bounds: Option<CacheBounds>) -> Self {
        self.token_cache = bounds;
        self
    }

    /// When the key sets are fetched again.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.refresh = policy;
        self
    }

    /// The limits of every request to the identity providers.
    pub fn fetch_limits(mut self, limits: FetchLimits) -> Self {
        self.fetch_limits = limits;
        self
    }

    /// Headers added to every request to the identity providers, made for each.
    pub fn fetch_headers(mut self, headers: FetchHeaders) -> Self {
        self.fetch_headers = Some(headers);
        self
    }

    /// Accepts DPoP-bound tokens as `config` says (default: off).
    pub fn dpop(mut self, config: DpopConfig) -> Self {
        self.dpop = Some(config);
        self
    }

    /// The URL clients reach the API at: the URL DPoP proofs name, and where the challenges say
    /// the RFC 9728 metadata is.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// The realm the challenges name (default `api`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Serves `organization`: an [`Organization`](crate::Organization) or
    /// [`PathOrganization`](crate::PathOrganization) requirement accepts tokens of the
    /// organizations named here only (when none is named, of any); call again for several.
    pub fn organization(mut self, organization: KnownOrganization) -> Self {
        self.policy = self.policy.with_organizations([organization]);
        self
    }

    /// Lets `claim` stand for an `acr` value in tokens without `acr` (an Auth0 Action's MFA
    /// claim); call again for several.
    pub fn acr_claim(mut self, claim: AcrClaim) -> Self {
        self.policy = self.policy.with_acr_claims([claim]);
        self
    }

    /// Reads `claim` as the time the user authenticated in tokens without `auth_time`.
    pub fn auth_time_claim(mut self, claim: impl Into<String>) -> Self {
        self.policy = self.policy.with_auth_time_claim(claim);
        self
    }

    /// Accepts access tokens encrypted to `key` (JWE, `RSA-OAEP-256` and `A256GCM`, wrapping a
    /// signed JWT); call again for several, the newest first: a JWE without `kid` is tried with
    /// the first two. Without a key, encrypted tokens are refused undecrypted.
    pub fn decryption_key(mut self, key: DecryptionKey) -> Self {
        self.decryption_keys.push(key);
        self
    }

    /// Reports the token path's events (for metrics) to `observer`.
    pub fn observer(mut self, observer: Arc<dyn AuthObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Reads the time from `clock` (default: the system's).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks every value and builds the resource server. Nothing is fetched yet: the keys are
    /// fetched on the first request, or by [`ResourceServer::warm_up`].
    pub fn build(self) -> Result<ResourceServer, BuildError> {
        if self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(BuildError::LeewayTooLarge(self.leeway));
        }
        if self.max_token_bytes == 0 {
            return Err(BuildError::Zero("max_token_bytes"));
        }
        let realm = checked_realm(&self.realm).ok_or_else(|| BuildError::Realm(self.realm.clone()))?.into_owned();
        let token_cache = match self.token_cache {
            Some(bounds) if bounds.max_bytes == 0 || bounds.max_entries == 0 => {
                return Err(BuildError::Zero("the token cache's bounds"));
            }
            Some(bounds) => Some(Arc::new(TokenCache::new(bounds))),
            None => None,
        };
        let mut trusted: Vec<TrustedIssuer> = Vec::with_capacity(self.issuers.len());
        for issuer in &self.issuers {
            let url =
                |text: &str| ProviderUrl::parse(text).map_err(|why| BuildError::Url { url: text.to_owned(), why });
            let iss = url(&issuer.issuer)?;
            if trusted.iter().any(|known| known.issuer() == iss.as_str()) {
                return Err(BuildError::DuplicateIssuer(issuer.issuer.clone()));
            }
            let jwks_url = match &issuer.keys {
                Keys::Discovered => None,
                Keys::At(jwks) => Some(url(jwks)?),
            };
            let audiences = issuer.audiences.clone().unwrap_or_else(|| self.audiences.clone());
            if audiences.is_empty() {
                return Err(BuildError::NoAudience { issuer: issuer.issuer.clone() });
            }
            let algorithms = issuer.algorithms.clone().unwrap_or_else(|| self.algorithms.clone());
            check_algorithms(&algorithms)?;
            let source = JwksSource::new(iss.clone(), jwks_url, &self.fetch_limits, self.fetch_headers.clone())
                .map_err(|error| BuildError::Client(error.to_string()))?;
            let keys = KeyStore::new(
                source,
                algorithms.clone(),
                self.refresh.clone(),
                token_cache.clone(),
                Arc::clone(&self.observer),
                Arc::clone(&self.clock),
            );
            let rules = ClaimRules {
                issuer: iss.to_string(),
                audiences,
                leeway: self.leeway,
                profile: issuer.profile.unwrap_or(self.profile),
            };
            trusted.push(TrustedIssuer::new(TokenPolicy { algorithms, rules }, Arc::new(keys)));
        }
        let public_url = match &self.public_url {
            Some(text) => Some(
                Url::parse(text)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
                    .ok_or_else(|| BuildError::PublicUrl(text.clone()))?,
            ),
            None => None,
        };
        let dpop = match self.dpop {
            Some(config) if config.mode != DpopMode::Disabled => {
                let public_url = public_url.as_ref().ok_or(BuildError::PublicUrlNeeded)?;
                Some(dpop_checker(config, public_url, Arc::clone(&self.clock))?)
            }
            _ => None,
        };
        let audience = &trusted[0].audience().to_owned();
        let resource_metadata_url = public_url
            .as_ref()
            .map(|url| format!("{}{}", url.as_str().trim_end_matches('/'), resource_metadata_path(audience)))
            .unwrap_or_default();
        if let Some(kid) = duplicate_kid(&self.decryption_keys) {
            return Err(BuildError::DuplicateDecryptionKey(kid.to_owned()));
        }
        let verifier = Verifier::new(
            trusted,
            self.max_token_bytes,
            token_cache,
            DecryptionKeys::new(self.decryption_keys),
            Arc::clone(&self.observer),
            Arc::clone(&self.clock),
        );
        let challenge = ChallengeText { realm, resource_metadata_url };
        Ok(ResourceServer::new(verifier, dpop, challenge, self.policy, self.clock))
    }
}

/// A `kid` two decryption keys share.
fn duplicate_kid(keys: &[DecryptionKey]) -> Option<&str> {
    let kids: Vec<&str> = keys.iter().filter_map(DecryptionKey::kid).collect();
    kids.iter().enumerate().find(|(at, kid)| kids[..*at].contains(kid)).map(|(_, kid)| *kid)
}

/// At least one algorithm, and none with a shared secret.
fn check_algorithms(algorithms: &[Algorithm]) -> Result<(), BuildError> {
    if algorithms.is_empty() {
        return Err(BuildError::NoAlgorithm);
    }
    match algorithms.iter().find(|alg| alg.family() == AlgorithmFamily::Hmac) {
        Some(alg) => Err(BuildError::SharedSecretAlgorithm(*alg)),
        None => Ok(()),
    }
}

fn dpop_checker(config: DpopConfig, public_url: &Url, clock: SharedClock) -> Result<DpopChecker, BuildError> {
    check_algorithms(&config.algorithms)?;
    if config.max_age.is_zero() {
        return Err(BuildError::Zero("dpop max_age"));
    }
    if config.max_age > MAX_PROOF_AGE {
        return Err(BuildError::TooLong("dpop max_age"));
    }
    if config.leeway > MAX_LEEWAY {
        return Err(BuildError::LeewayTooLarge(config.leeway));
    }
    let nonces = match &config.nonce_secret {
        Some(secret) if secret.len() < MIN_SECRET_BYTES => return Err(BuildError::NonceSecretTooShort(secret.len())),
        Some(_) if config.nonce_lifetime < Duration::from_secs(2) => return Err(BuildError::Zero("nonce_lifetime")),
        Some(_) if config.nonce_lifetime > MAX_PROOF_AGE => return Err(BuildError::TooLong("nonce_lifetime")),
        Some(secret) => Some(Nonces::new(secret, config.nonce_lifetime)),
        None => None,
    };
    let mut window = config.max_age + config.leeway;
    if nonces.is_some() {
        window = window.min(config.nonce_lifetime);
    }
    let replay = match &config.replay_store {
        ReplayStoreConfig::Memory { capacity: 0 } => return Err(BuildError::Zero("the replay store's capacity")),
        ReplayStoreConfig::Memory { capacity } => ReplayStore::Memory(MemoryReplayStore::new(*capacity, window)),
        #[cfg(feature = "redis")]
        ReplayStoreConfig::Redis { url, timeout } => ReplayStore::Redis(
            crate::dpop::RedisReplayStore::new(url, *timeout).map_err(|error| BuildError::Client(error.to_string()))?,
        ),
    };
    let policy = ProofPolicy { algorithms: config.algorithms, max_age: config.max_age, leeway: config.leeway };
    Ok(DpopChecker::new(config.mode, policy, PublicUrl::new(public_url), replay, nonces, clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_auth0_domain_is_an_https_issuer_with_a_trailing_slash() {
        assert_eq!(Issuer::auth0_domain("https://tenant.eu.auth0.com/").iss(), "https://tenant.eu.auth0.com/");
        assert_eq!(Issuer::auth0_domain("tenant.eu.auth0.com").iss(), "https://tenant.eu.auth0.com/");
    }

    #[test]
    fn every_value_is_checked_at_build() {
        let issuer = || Issuer::url("https://tenant.example/");
        let error = |builder: ResourceServerBuilder| builder.build().err().map(|error| error.to_string());
        assert_eq!(error(ResourceServer::builder()), Some(BuildError::NoIssuer.to_string()));
        assert!(error(ResourceServer::builder().issuer(issuer())).unwrap().contains("has no audience"));
        let ok = || ResourceServer::builder().issuer(issuer()).audience("https://api.example.com");
        assert!(ok().build().is_ok());
        assert!(error(ok().algorithms([Algorithm::HS256])).unwrap().contains("shared-secret"));
        assert!(error(ok().issuer(Issuer::url("http://tenant.example/"))).unwrap().contains("must use https"));
        assert!(error(ok().issuer(issuer())).unwrap().contains("listed twice"));
        assert!(error(ok().leeway(Duration::from_secs(61))).unwrap().contains("60 s"));
        assert!(error(ok().dpop(DpopConfig::default())).unwrap().contains("public_url"));
        assert!(ok().dpop(DpopConfig::default()).public_url("https://api.example.com").build().is_ok());
        let short = DpopConfig { nonce_secret: Some(b"short".to_vec()), ..DpopConfig::default() };
        assert!(error(ok().dpop(short).public_url("https://api.example.com")).unwrap().contains("5 bytes"));
        assert!(error(ok().realm("a \"quoted\" realm")).unwrap().contains("realm"));
    }
}
