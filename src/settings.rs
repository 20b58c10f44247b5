//! Typed settings: `settings/default.toml`, then `settings/<profile>.toml`, then the environment.
//!
//! Everything is checked once, at start-up: [`load`] returns either settings that are ready to use
//! or a [`SettingsError`] listing every problem, each naming the setting and the variable that sets it.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use reqwest::Url;
use serde::{Deserialize, Deserializer, de};

/// Environment variables with the names Auth0 users already have, and the setting each one sets.
pub const AUTH0_VARIABLES: &[(&str, &str)] = &[
    ("AUTH0_DOMAIN", "auth0.domain"),
    ("AUTH0_ISSUER", "auth0.issuer"),
    ("AUTH0_API_AUDIENCE", "auth0.audience"),
    ("AUTH0_ALGORITHMS", "auth0.algorithms"),
    ("AUTH0_JWKS_URL", "auth0.jwks_url"),
];

/// Plain variables a hosting platform sets, and the setting each one sets.
const SERVER_VARIABLES: &[(&str, &str)] = &[("HOST", "server.host"), ("PORT", "server.port")];

/// Variables that pick where settings come from rather than being settings themselves.
const PROFILE_VARIABLE: &str = "APP_PROFILE";
const SETTINGS_DIR_VARIABLE: &str = "APP_SETTINGS_DIR";

/// The profile used when `APP_PROFILE` is not set.
pub const DEFAULT_PROFILE: &str = "dev";

/// The largest clock-skew leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Every setting of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The profile the settings were read for (`dev`, `production`, …).
    pub profile: String,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// Where to listen.
    pub server: ServerSettings,
    /// Which tokens are accepted.
    pub auth0: Auth0Settings,
    /// How signing keys are fetched and cached.
    pub jwks: JwksSettings,
    /// The built-in development issuer.
    pub dev_issuer: DevIssuerSettings,
    /// Which browser origins may call the API.
    pub cors: CorsSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// The cache of verified tokens.
    pub token_cache: TokenCacheSettings,
}

/// Where and how the HTTP server listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen address (`HOST`).
    pub host: String,
    /// Listen port (`PORT`); 0 picks a free port.
    pub port: u16,
    /// Grace period for in-flight requests at shutdown.
    #[serde(deserialize_with = "duration")]
    pub shutdown_timeout: Duration,
    /// The URL clients reach the service at (behind a proxy); `http://{host}:{port}` when empty.
    #[serde(deserialize_with = "optional_text")]
    pub public_url: Option<String>,
    /// Time a client has to send a request's head, from the connection's start or its first byte.
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// Most connections open at once; lowered to fit the open-files limit.
    pub max_connections: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
}

/// Cross-origin access from browsers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Origins allowed to call the API (e.g. `https://app.example.com`); empty: no CORS headers.
    pub allowed_origins: Vec<String>,
}

/// The cache of verified tokens: a reused token costs a hash lookup, not an RSA verification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCacheSettings {
    /// Remember verified tokens.
    pub enabled: bool,
    /// At most this many tokens.
    pub max_entries: u64,
    /// A token is remembered until its `exp`, and at most this long.
    #[serde(deserialize_with = "duration")]
    pub max_ttl: Duration,
}

/// The Prometheus metrics endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Serve `/metrics`.
    pub enabled: bool,
    /// Serve it on this address instead of the API's listener (e.g. `127.0.0.1:9100`).
    #[serde(deserialize_with = "optional_text")]
    pub address: Option<String>,
}

/// The identity provider and the tokens it issues.
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
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(deserialize_with = "duration")]
    pub leeway: Duration,
    /// Longest token accepted, in bytes.
    pub max_token_bytes: usize,
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

/// The development issuer: a key generated at start-up and a token endpoint, so the service
/// can be tried without an Auth0 tenant. Never available in the `production` profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIssuerSettings {
    /// Run it when no issuer is configured.
    pub enabled: bool,
    /// The audience of its tokens, used when `auth0.audience` is empty.
    #[serde(deserialize_with = "optional_text")]
    pub audience: Option<String>,
}

/// Who issues the tokens the service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityProvider {
    /// A real issuer (an Auth0 tenant or any OpenID provider).
    Configured {
        /// The exact `iss` of accepted tokens.
        issuer: String,
        /// The audience accepted tokens carry.
        audience: String,
    },
    /// The built-in development issuer; its URL is known once the server is bound.
    Development {
        /// The audience of its tokens.
        audience: String,
    },
}

/// The profile in which the development issuer can never run.
pub const PRODUCTION_PROFILE: &str = "production";

/// Format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Settings {
    /// The configured issuer: `auth0.issuer`, else `https://{auth0.domain}/`; `None` when neither is set.
    pub fn issuer(&self) -> Option<String> {
        match (&self.auth0.issuer, &self.auth0.domain) {
            (Some(issuer), _) => Some(issuer.clone()),
            (None, Some(domain)) => Some(issuer_for_domain(domain)),
            (None, None) => None,
        }
    }

    /// Who issues accepted tokens: the configured issuer, else (when allowed) the development issuer.
    pub fn identity_provider(&self) -> IdentityProvider {
        let configured_audience = self.auth0.audience.clone();
        match self.issuer() {
            Some(issuer) => IdentityProvider::Configured { issuer, audience: configured_audience.unwrap_or_default() },
            None => IdentityProvider::Development {
                audience: configured_audience.or_else(|| self.dev_issuer.audience.clone()).unwrap_or_default(),
            },
        }
    }

    fn uses_dev_issuer(&self) -> bool {
        self.issuer().is_none() && self.dev_issuer.enabled
    }

    /// The address to bind, as `host:port`.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }

    fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let production = self.profile == PRODUCTION_PROFILE;
        if production && self.dev_issuer.enabled {
            problems.push(Problem::new(
                "dev_issuer.enabled",
                "the development issuer cannot run in the production profile: unset APP_DEV_ISSUER__ENABLED and configure your tenant with AUTH0_DOMAIN and AUTH0_API_AUDIENCE",
            ));
        }
        match self.issuer() {
            None if !self.dev_issuer.enabled => problems.push(Problem::new(
                "auth0.domain",
                format!(
                    "no issuer is configured: set AUTH0_DOMAIN (your tenant, e.g. your-tenant.us.auth0.com) or AUTH0_ISSUER (the exact `iss` of your tokens){}",
                    if production { "; the production profile requires one" } else { "" }
                ),
            )),
            None => {}
            Some(issuer) => {
                if let Err(why) = check_http_url(&issuer) {
                    let key = if self.auth0.issuer.is_some() { "auth0.issuer" } else { "auth0.domain" };
                    problems.push(Problem::new(key, format!("the issuer {issuer:?} {why}")));
                }
            }
        }
        if self.auth0.audience.is_none() && !self.uses_dev_issuer() {
            problems.push(Problem::new(
                "auth0.audience",
                "is empty: set AUTH0_API_AUDIENCE to the identifier of your API in the Auth0 dashboard (e.g. https://api.example.com)",
            ));
        }
        if self.auth0.algorithms.is_empty() {
            problems.push(Problem::new("auth0.algorithms", "is empty: set AUTH0_ALGORITHMS, e.g. RS256"));
        }
        for alg in &self.auth0.algorithms {
            if alg.family() == AlgorithmFamily::Hmac {
                problems.push(Problem::new(
                    "auth0.algorithms",
                    format!("{alg:?} is a shared-secret algorithm and is never accepted: use RS256 (Auth0's default) or another asymmetric algorithm"),
                ));
            }
        }
        if let Some(url) = &self.auth0.jwks_url
            && let Err(why) = check_http_url(url)
        {
            problems.push(Problem::new("auth0.jwks_url", format!("{url:?} {why}")));
        }
        if self.auth0.leeway > MAX_LEEWAY {
            problems.push(Problem::new("auth0.leeway", "is above the 60s maximum"));
        }
        if self.auth0.max_token_bytes == 0 {
            problems.push(Problem::new("auth0.max_token_bytes", "must be above 0"));
        }
        for (key, value) in [
            ("server.header_timeout", self.server.header_timeout),
            ("server.idle_timeout", self.server.idle_timeout),
            ("jwks.ttl", self.jwks.ttl),
            ("jwks.retry_initial", self.jwks.retry_initial),
            ("jwks.connect_timeout", self.jwks.connect_timeout),
            ("jwks.timeout", self.jwks.timeout),
        ] {
            if value.is_zero() {
                problems.push(Problem::new(key, "must be above 0"));
            }
        }
        if self.jwks.retry_max < self.jwks.retry_initial {
            problems.push(Problem::new("jwks.retry_max", "must not be below jwks.retry_initial"));
        }
        for origin in &self.cors.allowed_origins {
            let valid = Url::parse(origin).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.has_host()
                    && url.path() == "/"
                    && !origin.ends_with('/')
            });
            if !valid || origin == "*" {
                problems.push(Problem::new(
                    "cors.allowed_origins",
                    format!("{origin:?} is not an origin like https://app.example.com (scheme and host, no path; no wildcard)"),
                ));
            }
        }
        if let Some(url) = &self.server.public_url
            && !Url::parse(url).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
        {
            problems.push(Problem::new("server.public_url", format!("{url:?} is not an absolute http(s) URL")));
        }
        if let Some(address) = &self.metrics.address
            && address.parse::<std::net::SocketAddr>().is_err()
        {
            problems
                .push(Problem::new("metrics.address", format!("{address:?} is not an address like 127.0.0.1:9100")));
        }
        if self.token_cache.enabled && self.token_cache.max_entries == 0 {
            problems
                .push(Problem::new("token_cache.max_entries", "must be above 0 (or set token_cache.enabled = false)"));
        }
        if self.server.max_connections == 0 {
            problems.push(Problem::new("server.max_connections", "must be above 0"));
        }
        if self.server.max_body_bytes == 0 {
            problems.push(Problem::new("server.max_body_bytes", "must be above 0"));
        }
        if self.jwks.max_body_bytes == 0 {
            problems.push(Problem::new("jwks.max_body_bytes", "must be above 0"));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

/// `https://{domain}/`, whether the domain was written with a scheme or a trailing slash or not.
fn issuer_for_domain(domain: &str) -> String {
    let host = domain.trim().trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    format!("https://{host}/")
}

/// An absolute `https` URL, or `http` on a loopback host (for a local issuer).
fn check_http_url(value: &str) -> Result<Url, &'static str> {
    let url = Url::parse(value).map_err(|_| "is not an absolute URL")?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::auth::is_loopback(&url) => Ok(url),
        "http" => Err("must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"),
        _ => Err("must be an https URL"),
    }
}

/// Where the settings files are and which profile to use.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Folder holding `default.toml` and the profile files.
    pub dir: PathBuf,
    /// Profile name: selects `<dir>/<profile>.toml`.
    pub profile: String,
}

impl Sources {
    /// `APP_SETTINGS_DIR` (default `settings`) and `APP_PROFILE` (default `dev`).
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.trim().is_empty());
        Sources {
            dir: var(SETTINGS_DIR_VARIABLE).unwrap_or_else(|| "settings".into()).into(),
            profile: var(PROFILE_VARIABLE).unwrap_or_else(|| DEFAULT_PROFILE.into()),
        }
    }

    /// The settings files only, without the environment.
    pub fn files(&self) -> Figment {
        let mut figment =
            Figment::new().merge(("profile", &self.profile)).merge(Toml::file_exact(self.dir.join("default.toml")));
        let profile_file = self.profile_file();
        if profile_file.is_file() {
            figment = figment.merge(Toml::file_exact(profile_file));
        }
        figment
    }

    /// The settings files, then the environment variables on top.
    pub fn files_and_env(&self) -> Figment {
        let auth0_keys: Vec<&str> = AUTH0_VARIABLES.iter().map(|(var, _)| &var["AUTH0_".len()..]).collect();
        let server_keys: Vec<&str> = SERVER_VARIABLES.iter().map(|(var, _)| *var).collect();
        self.files()
            .merge(Env::prefixed("APP_").ignore(&["profile", "settings_dir"]).split("__"))
            .merge(Env::raw().only(&server_keys).map(|key| setting_for_env(key, "")))
            .merge(Env::prefixed("AUTH0_").only(&auth0_keys).map(|key| setting_for_env(key, "AUTH0_")))
    }

    fn profile_file(&self) -> PathBuf {
        self.dir.join(format!("{}.toml", self.profile))
    }

    fn check(&self) -> Result<(), SettingsError> {
        let default_file = self.dir.join("default.toml");
        if !default_file.is_file() {
            return Err(SettingsError::single(Problem::new(
                "settings",
                format!(
                    "{} was not found: run from the repository root or set {SETTINGS_DIR_VARIABLE} to the folder holding default.toml",
                    default_file.display()
                ),
            )));
        }
        if !self.profile_file().is_file() {
            return Err(SettingsError::single(Problem::new(
                "profile",
                format!(
                    "{PROFILE_VARIABLE}={} has no file {}: use one of {}",
                    self.profile,
                    self.profile_file().display(),
                    known_profiles(&self.dir).join(", ")
                ),
            )));
        }
        Ok(())
    }
}

/// Maps an environment variable (without `prefix`) to the dotted setting it sets.
fn setting_for_env(key: &figment::value::UncasedStr, prefix: &str) -> figment::value::Uncased<'static> {
    AUTH0_VARIABLES
        .iter()
        .chain(SERVER_VARIABLES)
        .find(|(var, _)| var[prefix.len()..].eq_ignore_ascii_case(key.as_str()))
        .map(|(_, setting)| (*setting).into())
        .unwrap_or_else(|| key.as_str().to_owned().into())
}

fn known_profiles(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".toml")?;
            (stem != "default").then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

/// Reads `.env` (when present), then settings from `APP_SETTINGS_DIR` for `APP_PROFILE`, then the
/// environment.
pub fn load() -> Result<(Sources, Settings), SettingsError> {
    let _ = dotenvy::dotenv();
    let sources = Sources::from_env();
    sources.check()?;
    let settings = extract(sources.files_and_env())?;
    Ok((sources, settings))
}

/// Extracts and validates settings from any figment (tests build theirs from [`Sources::files`]).
pub fn extract(figment: Figment) -> Result<Settings, SettingsError> {
    // serde stops at the first error, so each section is read on its own to report them all.
    let mut problems = Vec::new();
    let log_format = section::<LogFormat>(&figment, "log_format", &mut problems);
    let server = section::<ServerSettings>(&figment, "server", &mut problems);
    let auth0 = section::<Auth0Settings>(&figment, "auth0", &mut problems);
    let jwks = section::<JwksSettings>(&figment, "jwks", &mut problems);
    let dev_issuer = section::<DevIssuerSettings>(&figment, "dev_issuer", &mut problems);
    let cors = section::<CorsSettings>(&figment, "cors", &mut problems);
    let metrics = section::<MetricsSettings>(&figment, "metrics", &mut problems);
    let token_cache = section::<TokenCacheSettings>(&figment, "token_cache", &mut problems);
    let profile = section::<String>(&figment, "profile", &mut problems);
    let known = ["profile", "log_format", "server", "auth0", "jwks", "dev_issuer", "cors", "metrics", "token_cache"];
    for key in figment.extract::<figment::value::Dict>().unwrap_or_default().into_keys() {
        if !known.contains(&key.as_str()) {
            problems.push(Problem::new(key, format!("is not a setting (the settings are {})", known.join(", "))));
        }
    }
    let (
        Some(profile),
        Some(log_format),
        Some(server),
        Some(auth0),
        Some(jwks),
        Some(dev_issuer),
        Some(cors),
        Some(metrics),
        Some(token_cache),
    ) = (profile, log_format, server, auth0, jwks, dev_issuer, cors, metrics, token_cache)
    else {
        return Err(SettingsError { problems });
    };
    if !problems.is_empty() {
        return Err(SettingsError { problems });
    }
    let settings = Settings { profile, log_format, server, auth0, jwks, dev_issuer, cors, metrics, token_cache };
    settings.validate().map_err(|problems| SettingsError { problems })?;
    Ok(settings)
}

fn section<T: serde::de::DeserializeOwned>(figment: &Figment, name: &str, problems: &mut Vec<Problem>) -> Option<T> {
    figment
        .extract_inner(name)
        .map_err(|errors| problems.extend(errors.into_iter().map(|error| Problem::from_figment(name, error))))
        .ok()
}

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted setting name, e.g. `auth0.audience`.
    pub setting: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { setting: setting.into(), message: message.into() }
    }

    fn from_figment(section: &str, error: figment::Error) -> Self {
        let inner: Vec<String> =
            error.path.iter().filter(|key| *key != section).map(|key| key.to_lowercase()).collect();
        let setting = if inner.is_empty() { section.to_owned() } else { format!("{section}.{}", inner.join(".")) };
        let origin = error.metadata.as_ref().map(|meta| format!(" (from {})", meta.name)).unwrap_or_default();
        Problem::new(setting, format!("{}{origin}", error.kind))
    }

    /// How a person sets this value from the environment.
    fn env_hint(&self) -> String {
        if let Some((var, _)) =
            AUTH0_VARIABLES.iter().chain(SERVER_VARIABLES).find(|(_, setting)| *setting == self.setting)
        {
            return format!("env {var}");
        }
        match self.setting.split_once('.') {
            Some((section, key)) => format!("env APP_{}__{}", section.to_uppercase(), key.to_uppercase()),
            None if matches!(self.setting.as_str(), "settings" | "profile") => String::new(),
            None => format!("env APP_{}", self.setting.to_uppercase()),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = self.env_hint();
        if hint.is_empty() {
            write!(f, "{}: {}", self.setting, self.message)
        } else {
            write!(f, "{} ({hint}): {}", self.setting, self.message)
        }
    }
}

/// Every problem found in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

impl SettingsError {
    fn single(problem: Problem) -> Self {
        SettingsError { problems: vec![problem] }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}

/// A duration written as "30s", "10m", "1h 30m", "250ms" or a number of seconds.
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Seconds(seconds) => Ok(Duration::from_secs(seconds)),
        Raw::Text(text) => humantime::parse_duration(text.trim())
            .map_err(|e| de::Error::custom(format!("{text:?} is not a duration like \"30s\" or \"10m\" ({e})"))),
    }
}

/// A string where empty means unset; numbers are taken as text (an env value like `12345`).
fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    let text = match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Integer(n) => n.to_string(),
        Raw::Float(n) => n.to_string(),
    };
    let text = text.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Algorithms as a list or as one comma-separated string (`RS256,PS256`).
fn algorithms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Algorithm>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let names = match Raw::deserialize(deserializer)? {
        Raw::List(names) => names,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .map(|name| {
            name.parse::<Algorithm>().map_err(|_| {
                de::Error::custom(format!(
                    "unknown algorithm {name:?}: use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
                ))
            })
        })
        .collect()
}
