//! The sections of the settings, each read by serde straight into the types the code uses, each
//! with the checks that need only its own values, and the components' plain values built from it.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::Deserialize;
use url::Url;

use super::{
    problems::Problems,
    values::{
        Origin, Secret, algorithms, duration, issuer_entries, listen_host, optional_algorithms, optional_http_url,
        optional_secret, optional_socket_address, optional_text,
    },
};
use jwt_resource_server::{
    AcrClaim, DecryptionKey, DpopMode, FetchLimits, KnownOrganization, RefreshPolicy, TokenProfile,
    dpop::MIN_SECRET_BYTES,
};

use crate::telemetry::{LogFormat, WhenFull};

/// A section of the settings: read by serde into the types the code uses, then checked on its own.
pub(super) trait Section {
    /// Adds what is wrong with this section's values to `problems`; most sections need nothing
    /// beyond what reading them checked.
    fn check(&self, _problems: &mut Problems) {}
}

impl Section for String {}
impl Section for LogFormat {}
impl Section for WhenFull {}
impl Section for DocsSettings {}
impl Section for DevIssuerSettings {}
impl Section for CorsSettings {}
impl Section for MetricsSettings {}

/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Where and how the HTTP server listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address (`HOST`): an IP address, or `localhost`.
    #[serde(deserialize_with = "listen_host")]
    pub host: IpAddr,
    /// Listen port (`PORT`); 0 picks a free port.
    pub port: u16,
    /// How long the service keeps serving after SIGTERM, with `/readyz` failing, before it
    /// stops accepting: the time a load balancer needs to take it out of rotation.
    #[serde(deserialize_with = "duration")]
    pub shutdown_delay: Duration,
    /// Once it stops accepting, the time in-flight requests and the log lines left have to finish.
    #[serde(deserialize_with = "duration")]
    pub shutdown_timeout: Duration,
    /// The URL clients reach the service at (behind a proxy); `http://{host}:{port}` when unset.
    #[serde(deserialize_with = "optional_http_url")]
    pub public_url: Option<Url>,
    /// Time a client has to send a request's head, from the connection's start or its first byte.
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// Time a client has to send a request's body, from the end of its head.
    #[serde(deserialize_with = "duration")]
    pub body_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// Most connections open at once; lowered to fit the open-files limit.
    pub max_connections: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
}

impl ServerSettings {
    /// The address to listen on.
    pub fn listen_address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

impl Section for ServerSettings {
    fn check(&self, problems: &mut Problems) {
        problems.not_zero("server.header_timeout", self.header_timeout);
        problems.not_zero("server.body_timeout", self.body_timeout);
        problems.not_zero("server.idle_timeout", self.idle_timeout);
        problems.above_zero("server.max_connections", self.max_connections as u64);
        problems.above_zero("server.max_body_bytes", self.max_body_bytes);
    }
}

/// The identity provider and the tokens it issues, as written; the issuer and key set URL are
/// checked into [`IdentityProvider`](super::IdentityProvider).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth0Settings {
    /// Tenant domain (`AUTH0_DOMAIN`).
    #[serde(deserialize_with = "optional_text")]
    pub domain: Option<String>,
    /// Exact `iss` expected (`AUTH0_ISSUER`); derived from the domain when empty.
    #[serde(deserialize_with = "optional_text")]
    pub issuer: Option<String>,
    /// API identifier expected in `aud` (`AUTH0_API_AUDIENCE`).
    #[serde(deserialize_with = "optional_text")]
    pub audience: Option<String>,
    /// Accepted signature algorithms (`AUTH0_ALGORITHMS`).
    #[serde(deserialize_with = "algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// Key set location (`AUTH0_JWKS_URL`); OpenID discovery when empty.
    #[serde(deserialize_with = "optional_text")]
    pub jwks_url: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[serde(deserialize_with = "duration")]
    pub leeway: Duration,
    /// Longest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// `any` JWT, or only RFC 9068 access tokens (`typ` `at+jwt` and the claims it requires).
    pub token_profile: TokenProfile,
    /// Several trusted issuers (`AUTH0_ISSUERS`, comma-separated): URLs, or in TOML tables with
    /// their own `jwks_url`, `algorithms`, `audience` and `token_profile`; the values above apply
    /// where an entry has none.
    #[serde(deserialize_with = "issuer_entries")]
    pub issuers: Vec<IssuerEntry>,
    /// The Auth0 Organizations the API serves: ids (`org_…`), or tables with `id` and `name`;
    /// empty: any organization.
    pub organizations: Vec<OrganizationEntry>,
    /// Claims standing for `acr` values in tokens without `acr` (an Auth0 Action's MFA claim).
    pub acr_claims: Vec<AcrClaimEntry>,
    /// The claim read as `auth_time` in tokens without it.
    #[serde(deserialize_with = "optional_text")]
    pub auth_time_claim: Option<String>,
    /// PEM files of the RSA keys encrypted access tokens are encrypted to, newest first; each
    /// file's name without `.pem` is its `kid`.
    pub decryption_keys: Vec<PathBuf>,
}

/// One entry of `auth0.organizations`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OrganizationEntry {
    /// Its id.
    Id(String),
    /// Its id and name.
    Table(OrganizationTable),
}

/// An organization with its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationTable {
    /// Its id, `org_…`.
    pub id: String,
    /// Its name, as its tokens' `org_name` carries it.
    pub name: String,
}

impl OrganizationEntry {
    /// The organization, as the resource server serves it.
    pub fn organization(&self) -> KnownOrganization {
        match self {
            OrganizationEntry::Id(id) => KnownOrganization::id(id.trim()),
            OrganizationEntry::Table(table) => KnownOrganization::id(table.id.trim()).name(table.name.trim()),
        }
    }
}

/// One entry of `auth0.acr_claims`: the claim that stands for `acr` = `acr` when it is `true`, or,
/// with `value`, when it is that string or an array holding it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcrClaimEntry {
    /// The `acr` value it stands for.
    pub acr: String,
    /// The claim.
    pub claim: String,
    /// The value the claim must be or hold; `true` when absent.
    #[serde(default)]
    pub value: Option<String>,
}

impl AcrClaimEntry {
    /// The claim, as the resource server reads it.
    pub fn acr_claim(&self) -> AcrClaim {
        let claim = AcrClaim::new(self.acr.trim(), self.claim.trim());
        match &self.value {
            Some(value) => claim.containing(value.as_str()),
            None => claim,
        }
    }
}

/// The `kid` of a decryption key file: its name without `.pem`.
pub fn decryption_kid(path: &Path) -> Option<String> {
    path.file_stem().and_then(|stem| stem.to_str()).map(str::to_owned)
}

/// The decryption key in the PEM file at `path`, chosen by its `kid`.
pub fn decryption_key(path: &Path) -> Result<DecryptionKey, String> {
    let pem = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let key = DecryptionKey::from_pem(&pem).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(match decryption_kid(path) {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

/// One entry of `auth0.issuers`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IssuerEntry {
    /// Just the issuer: every other value from `auth0`.
    Url(String),
    /// The issuer with values of its own.
    Table(IssuerTable),
}

/// An issuer with values of its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerTable {
    /// The exact `iss` of its tokens.
    pub issuer: String,
    /// Where its keys are; OpenID discovery when empty.
    #[serde(default, deserialize_with = "optional_text")]
    pub jwks_url: Option<String>,
    /// Its accepted algorithms.
    #[serde(default, deserialize_with = "optional_algorithms")]
    pub algorithms: Option<Vec<Algorithm>>,
    /// The audience its tokens carry.
    #[serde(default, deserialize_with = "optional_text")]
    pub audience: Option<String>,
    /// Its token profile.
    #[serde(default)]
    pub token_profile: Option<TokenProfile>,
}

impl IssuerEntry {
    /// The entry as a table: a plain URL has no values of its own.
    pub fn table(&self) -> IssuerTable {
        match self {
            IssuerEntry::Url(issuer) => IssuerTable {
                issuer: issuer.clone(),
                jwks_url: None,
                algorithms: None,
                audience: None,
                token_profile: None,
            },
            IssuerEntry::Table(table) => table.clone(),
        }
    }
}

impl Auth0Settings {
    /// The issuer as written: `auth0.issuer`, else `https://{auth0.domain}/`, with the setting it
    /// comes from.
    pub(super) fn written_issuer(&self) -> Option<(&'static str, String)> {
        match (&self.issuer, &self.domain) {
            (Some(issuer), _) => Some(("auth0.issuer", issuer.clone())),
            (None, Some(domain)) => Some(("auth0.domain", issuer_for_domain(domain))),
            (None, None) => None,
        }
    }
}

impl Section for Auth0Settings {
    fn check(&self, problems: &mut Problems) {
        check_algorithms("auth0.algorithms", &self.algorithms, problems);
        for entry in &self.issuers {
            if let Some(algorithms) = entry.table().algorithms {
                check_algorithms("auth0.issuers", &algorithms, problems);
            }
        }
        if self.leeway > MAX_LEEWAY {
            problems.add("auth0.leeway", "is above the 60s maximum");
        }
        problems.above_zero("auth0.max_token_bytes", self.max_token_bytes as u64);
        let mut ids = Vec::new();
        for organization in self.organizations.iter().map(OrganizationEntry::organization) {
            if organization.org_id().is_empty() || organization.org_name() == Some("") {
                problems.add("auth0.organizations", "an entry has an empty id or name");
            } else if ids.contains(&organization.org_id().to_owned()) {
                problems.add("auth0.organizations", format!("{} is listed twice", organization.org_id()));
            }
            ids.push(organization.org_id().to_owned());
        }
        for entry in &self.acr_claims {
            if entry.acr.trim().is_empty() || entry.claim.trim().is_empty() {
                problems.add("auth0.acr_claims", "an entry has an empty acr or claim");
            }
        }
        let mut kids = Vec::new();
        for path in &self.decryption_keys {
            if let Err(problem) = decryption_key(path) {
                problems.add("auth0.decryption_keys", problem);
            }
            let kid = decryption_kid(path);
            if kids.contains(&kid) {
                problems.add("auth0.decryption_keys", format!("two files are named {}", path.display()));
            }
            kids.push(kid);
        }
    }
}

/// At least one algorithm, and none with a shared secret.
fn check_algorithms(setting: &str, algorithms: &[Algorithm], problems: &mut Problems) {
    if algorithms.is_empty() {
        problems.add(setting, "is empty: set AUTH0_ALGORITHMS, e.g. RS256");
    }
    for alg in algorithms {
        if alg.family() == AlgorithmFamily::Hmac {
            problems.add(
                setting,
                format!("{alg:?} is a shared-secret algorithm and is never accepted: use RS256 (Auth0's default) or another asymmetric algorithm"),
            );
        }
    }
}

/// `https://{domain}/`, whether the domain was written with a scheme or a trailing slash or not.
fn issuer_for_domain(domain: &str) -> String {
    let host = domain.trim().trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    format!("https://{host}/")
}

/// Fetching and caching of the issuer's signing keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksSettings {
    /// Age after which the key set is refreshed in the background.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// Minimum time between refetches caused by an unknown `kid`.
    #[serde(deserialize_with = "duration")]
    pub cooldown: Duration,
    /// How long past `ttl` the last good key set may serve while refreshes fail.
    #[serde(deserialize_with = "duration")]
    pub max_stale: Duration,
    /// First retry delay after a failed fetch.
    #[serde(deserialize_with = "duration")]
    pub retry_initial: Duration,
    /// Largest retry delay after repeated failures.
    #[serde(deserialize_with = "duration")]
    pub retry_max: Duration,
    /// Connect timeout for each request to the identity provider.
    #[serde(deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Time allowed for one whole fetch (discovery and key set).
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// Largest response body accepted from the identity provider.
    pub max_body_bytes: usize,
}

impl JwksSettings {
    /// When the key store fetches again.
    pub fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            ttl: self.ttl,
            cooldown: self.cooldown,
            max_stale: self.max_stale,
            retry_initial: self.retry_initial,
            retry_max: self.retry_max,
            fetch_timeout: self.timeout,
        }
    }

    /// The limits of every request to the identity provider.
    pub fn fetch_limits(&self) -> FetchLimits {
        FetchLimits {
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

impl Section for JwksSettings {
    fn check(&self, problems: &mut Problems) {
        problems.not_zero("jwks.ttl", self.ttl);
        problems.not_zero("jwks.retry_initial", self.retry_initial);
        problems.not_zero("jwks.connect_timeout", self.connect_timeout);
        problems.not_zero("jwks.timeout", self.timeout);
        if self.retry_max < self.retry_initial {
            problems.add("jwks.retry_max", "must not be below jwks.retry_initial");
        }
        problems.above_zero("jwks.max_body_bytes", self.max_body_bytes as u64);
    }
}

/// The development issuer: a key generated at start-up and a token endpoint, so the service
/// can be tried without an Auth0 tenant. Never available in the `production` profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIssuerSettings {
    /// Run it when no issuer is configured.
    pub enabled: bool,
    /// Run it even when the service listens on an address other hosts can reach.
    pub allow_non_loopback: bool,
    /// The audience of its tokens, used when `auth0.audience` is empty.
    #[serde(deserialize_with = "optional_text")]
    pub audience: Option<String>,
}

/// Cross-origin access from browsers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to call the API (e.g. `https://app.example.com`); empty: no CORS headers.
    pub allowed_origins: Vec<Origin>,
}

/// The Prometheus metrics endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Serve it on this address instead of the API's listener (e.g. `127.0.0.1:9100`).
    #[serde(deserialize_with = "optional_socket_address")]
    pub address: Option<SocketAddr>,
}

/// The cache of verified tokens: a reused token costs a hash lookup, not an RSA verification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCacheSettings {
    /// Remember verified tokens.
    pub enabled: bool,
    /// At most this many bytes held by the cached tokens together.
    pub max_bytes: u64,
    /// At most this many tokens.
    pub max_entries: u64,
    /// A token is remembered until its `exp`, and at most this long.
    #[serde(deserialize_with = "duration")]
    pub max_ttl: Duration,
}

impl Section for TokenCacheSettings {
    fn check(&self, problems: &mut Problems) {
        if !self.enabled {
            return;
        }
        for (setting, value) in
            [("token_cache.max_entries", self.max_entries), ("token_cache.max_bytes", self.max_bytes)]
        {
            if value == 0 {
                problems.add(setting, "must be above 0 (or set token_cache.enabled = false)");
            }
        }
    }
}

/// The longest DPoP proof age accepted.
const MAX_PROOF_AGE: Duration = Duration::from_secs(3600);

/// DPoP-bound tokens (RFC 9449) and the replay store of their proofs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopSettings {
    /// `allowed`, `required` or `disabled`.
    pub mode: DpopMode,
    /// The algorithms a proof may be signed with.
    #[serde(deserialize_with = "algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// How old a proof may be.
    #[serde(deserialize_with = "duration")]
    pub max_age: Duration,
    /// How far in the future a proof's `iat` may be.
    #[serde(deserialize_with = "duration")]
    pub leeway: Duration,
    /// Where accepted proofs are kept.
    pub replay_store: ReplayStoreSetting,
    /// Most proofs the in-memory store holds at once.
    pub replay_capacity: u64,
    /// Deadline of one Redis command.
    #[serde(deserialize_with = "duration")]
    pub redis_timeout: Duration,
    /// Whether proofs must carry a server-issued nonce.
    pub nonce: NonceMode,
    /// The secret nonces are made with, shared by every replica.
    #[serde(deserialize_with = "optional_secret")]
    pub nonce_secret: Option<Secret>,
    /// How long a nonce is accepted at most.
    #[serde(deserialize_with = "duration")]
    pub nonce_lifetime: Duration,
}

/// `dpop.nonce`: whether proofs must carry a nonce the service issued (RFC 9449 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonceMode {
    /// No nonce is issued or required.
    Disabled,
    /// Every proof must carry a current nonce, sent in the `DPoP-Nonce` header.
    Required,
}

/// `dpop.replay_store`: `memory`, or a `redis://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum ReplayStoreSetting {
    /// In this process.
    Memory,
    /// In Redis at this URL.
    Redis(String),
}

impl std::fmt::Debug for ReplayStoreSetting {
    /// The URL may carry a password: only its host is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayStoreSetting::Memory => f.write_str("Memory"),
            ReplayStoreSetting::Redis(url) => {
                let host = Url::parse(url).ok().and_then(|url| url.host_str().map(str::to_owned)).unwrap_or_default();
                write!(f, "Redis({host})")
            }
        }
    }
}

impl<'de> Deserialize<'de> for ReplayStoreSetting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        if text.is_empty() || text == "memory" {
            return Ok(ReplayStoreSetting::Memory);
        }
        match Url::parse(text) {
            Ok(url) if url.scheme() == "redis" && url.has_host() => Ok(ReplayStoreSetting::Redis(text.to_owned())),
            _ => Err(serde::de::Error::custom(
                "must be \"memory\" or a Redis URL like \"redis://[user:password@]host[:port][/db]\"",
            )),
        }
    }
}

impl Section for DpopSettings {
    fn check(&self, problems: &mut Problems) {
        if self.mode == DpopMode::Disabled {
            return;
        }
        check_algorithms("dpop.algorithms", &self.algorithms, problems);
        problems.not_zero("dpop.max_age", self.max_age);
        if self.max_age > MAX_PROOF_AGE {
            problems.add("dpop.max_age", "is above the 1h maximum: a proof is meant for one request, now");
        }
        if self.leeway > MAX_LEEWAY {
            problems.add("dpop.leeway", "is above the 60s maximum");
        }
        if self.replay_store == ReplayStoreSetting::Memory {
            problems.above_zero("dpop.replay_capacity", self.replay_capacity);
        }
        problems.not_zero("dpop.redis_timeout", self.redis_timeout);
        if self.nonce == NonceMode::Required {
            match &self.nonce_secret {
                None => problems.add(
                    "dpop.nonce_secret",
                    format!("is empty: dpop.nonce = \"required\" needs a secret of at least {MIN_SECRET_BYTES} bytes, the same on every replica (e.g. openssl rand -base64 48)"),
                ),
                Some(secret) if secret.expose().len() < MIN_SECRET_BYTES => problems.add(
                    "dpop.nonce_secret",
                    format!(
                        "has {} bytes: use at least {MIN_SECRET_BYTES} (e.g. openssl rand -base64 48)",
                        secret.expose().len()
                    ),
                ),
                Some(_) => {}
            }
            if self.nonce_lifetime < Duration::from_secs(2) {
                problems.add("dpop.nonce_lifetime", "must be at least 2s");
            }
            if self.nonce_lifetime > MAX_PROOF_AGE {
                problems.add("dpop.nonce_lifetime", "is above the 1h maximum");
            }
        }
    }
}

/// Swagger UI at `/docs`, and its login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocsSettings {
    /// The client id of the public application (an Auth0 "Single Page Application") Swagger UI
    /// logs in with; none: no login, tokens are pasted.
    #[serde(deserialize_with = "optional_text")]
    pub client_id: Option<String>,
    /// The trusted issuer that serves the login; the first configured one when none.
    #[serde(deserialize_with = "optional_text")]
    pub login_issuer: Option<String>,
    /// Swagger UI keeps the authorization in the browser's local storage across reloads.
    pub persist_authorization: bool,
}
