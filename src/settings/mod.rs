//! Typed settings: the built-in files of `settings/`, files of the same names in the settings
//! folder, then the environment ([`sources`]).
//!
//! Everything is read and checked once, at start-up: [`load`] returns either settings in the
//! types the components take ([`sections`]; values read by [`values`]) or a [`SettingsError`]
//! listing every problem, each naming the setting and the variable that sets it.

mod problems;
pub mod sections;
pub mod sources;
mod traces;
pub mod values;

use figment::Figment;
use serde::de::DeserializeOwned;

pub use problems::{Problem, SettingsError};
pub use sections::{
    Auth0Settings, CorsSettings, DevIssuerSettings, DocsSettings, DpopSettings, JwksSettings, MetricsSettings,
    NonceMode, ReplayStoreSetting, ServerSettings, TokenCacheSettings,
};
pub use sources::{AUTH0_VARIABLES, DEFAULT_PROFILE, Sources};

use jsonwebtoken::Algorithm;

use self::{
    problems::Problems,
    sections::{IssuerTable, Section},
};
pub use crate::telemetry::{LogFormat, WhenFull};
use jwt_resource_server::{ProviderUrl, TokenProfile};

/// The profile in which the development issuer can never run.
pub const PRODUCTION_PROFILE: &str = "production";

/// Declares the sections once. Each becomes a field of [`Settings`], is read from the figment on
/// its own — serde stops at a section's first error, so this is how every section's problems are
/// reported together — and is checked by its [`Section`] impl.
macro_rules! sections {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty, )*) => {
        /// Every setting of the service, read and checked once, at start-up.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( $(#[$doc])* pub $name: $ty, )*
            /// Who issues accepted tokens: `auth0` and `dev_issuer` checked together.
            pub identity_provider: IdentityProvider,
            /// Where traces go, from the standard `OTEL_*` variables; `None`: no traces.
            pub traces: Option<crate::telemetry::TraceExport>,
        }

        /// The sections as read, before the checks that involve several of them.
        struct Sections {
            $( $name: $ty, )*
        }

        impl Sections {
            /// The top-level keys a settings source may have.
            const NAMES: &[&str] = &[$(stringify!($name)),*];

            fn read(figment: &Figment, problems: &mut Problems) -> Option<Self> {
                $( let $name = section::<$ty>(figment, stringify!($name), problems); )*
                Some(Sections { $( $name: $name?, )* })
            }

            fn check(&self, problems: &mut Problems) {
                $( Section::check(&self.$name, problems); )*
            }

            fn into_settings(self, identity_provider: IdentityProvider) -> Settings {
                Settings { $( $name: self.$name, )* identity_provider, traces: None }
            }
        }
    };
}

sections! {
    /// The profile the settings were read for (`dev`, `production`, …).
    profile: String,
    /// `text` or `json` log lines.
    log_format: LogFormat,
    /// What happens to a log line when stdout does not keep up: `drop` or `wait`.
    log_when_full: WhenFull,
    /// Where to listen.
    server: ServerSettings,
    /// Which tokens are accepted, as written.
    auth0: Auth0Settings,
    /// How signing keys are fetched and cached.
    jwks: JwksSettings,
    /// The built-in development issuer.
    dev_issuer: DevIssuerSettings,
    /// Which browser origins may call the API.
    cors: CorsSettings,
    /// The Prometheus endpoint.
    metrics: MetricsSettings,
    /// The cache of verified tokens.
    token_cache: TokenCacheSettings,
    /// DPoP-bound tokens and the replay store of their proofs.
    dpop: DpopSettings,
    /// Swagger UI and its login.
    docs: DocsSettings,
}

/// Who issues the tokens the service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityProvider {
    /// Real issuers (Auth0 tenants, their custom domains, any OpenID provider): one, or several.
    Configured(Vec<IssuerSettings>),
    /// The built-in development issuer; its URL is known once the server is bound.
    Development {
        /// The audience of its tokens.
        audience: String,
    },
}

/// One trusted issuer and what its tokens must be, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    /// The exact `iss` of its tokens.
    pub issuer: ProviderUrl,
    /// The audience its tokens carry.
    pub audience: String,
    /// Where its keys are published; OpenID discovery when `None`.
    pub jwks_url: Option<ProviderUrl>,
    /// The algorithms its tokens may be signed with.
    pub algorithms: Vec<Algorithm>,
    /// What kind of JWT its tokens must be.
    pub token_profile: TokenProfile,
}

impl Settings {
    /// The configured issuers; none with the development issuer.
    pub fn issuers(&self) -> &[IssuerSettings] {
        match &self.identity_provider {
            IdentityProvider::Configured(issuers) => issuers,
            IdentityProvider::Development { .. } => &[],
        }
    }

    /// The first configured issuer; `None` with the development issuer.
    pub fn issuer(&self) -> Option<&ProviderUrl> {
        self.issuers().first().map(|issuer| &issuer.issuer)
    }
}

/// Reads `.env` (when present), then the settings for `APP_PROFILE` from the built-in files, the
/// settings folder and the environment.
pub fn load() -> Result<(Sources, Settings), SettingsError> {
    let _ = dotenvy::dotenv();
    let sources = Sources::from_env()?;
    let empty = empty_auth0_variables();
    let mut trace_problems = Problems::default();
    let traces = traces::from_env(|name| std::env::var(name).ok(), &mut trace_problems);
    match extract(sources.files_and_env()) {
        Ok(settings) if empty.is_empty() && trace_problems.is_empty() => Ok((sources, Settings { traces, ..settings })),
        Ok(_) => Err(SettingsError { problems: empty.into_iter().chain(trace_problems.0).collect() }),
        Err(mut error) => {
            // An empty variable says best what is wrong with its setting.
            error.problems.retain(|problem| !empty.iter().any(|empty| empty.setting == problem.setting));
            error.problems.splice(0..0, empty);
            error.problems.extend(trace_problems.0);
            Err(error)
        }
    }
}

/// Extracts and checks settings from any figment (tests build theirs from [`Sources::files`]).
pub fn extract(figment: Figment) -> Result<Settings, SettingsError> {
    let mut problems = Problems::default();
    let sections = Sections::read(&figment, &mut problems);
    refuse_unknown_keys(&figment, Sections::NAMES, &mut problems);
    let Some(sections) = sections.filter(|_| problems.is_empty()) else {
        return Err(problems.into());
    };
    sections.check(&mut problems);
    let identity_provider = identity_provider(&sections.profile, &sections.auth0, &sections.dev_issuer, &mut problems);
    if matches!(identity_provider, Some(IdentityProvider::Development { .. })) {
        dev_issuer_on_loopback(&sections.server, &sections.metrics, &sections.dev_issuer, &mut problems);
    }
    if let (Some(IdentityProvider::Configured(issuers)), Some(login)) =
        (&identity_provider, sections.docs.login_issuer.as_deref())
        && !issuers.iter().any(|issuer| issuer.issuer.as_str() == login)
    {
        problems.add("docs.login_issuer", format!("{login:?} is not one of the trusted issuers"));
    }
    match identity_provider {
        Some(identity_provider) if problems.is_empty() => Ok(sections.into_settings(identity_provider)),
        _ => Err(problems.into()),
    }
}

/// The configured issuers, each with its audience, key set URL, algorithms and profile, every URL
/// checked against the one URL policy; else, where allowed, the development issuer.
fn identity_provider(
    profile: &str,
    auth0: &Auth0Settings,
    dev_issuer: &DevIssuerSettings,
    problems: &mut Problems,
) -> Option<IdentityProvider> {
    let production = profile == PRODUCTION_PROFILE;
    if production && dev_issuer.enabled {
        problems.add(
            "dev_issuer.enabled",
            "the development issuer cannot run in the production profile: unset APP_DEV_ISSUER__ENABLED and configure your tenant with AUTH0_DOMAIN and AUTH0_API_AUDIENCE",
        );
    }
    let jwks_url = auth0.jwks_url.as_deref().and_then(|url| {
        ProviderUrl::parse(url).map_err(|why| problems.add("auth0.jwks_url", format!("{url:?} {why}"))).ok()
    });
    let entries: Vec<(&str, IssuerTable)> = match (auth0.written_issuer(), auth0.issuers.is_empty()) {
        (Some((setting, _)), false) => {
            problems.add(
                "auth0.issuers",
                format!(
                    "give either auth0.issuers (AUTH0_ISSUERS) or {setting} (AUTH0_{}), not both",
                    setting["auth0.".len()..].to_uppercase()
                ),
            );
            return None;
        }
        (Some((setting, issuer)), true) => vec![(
            setting,
            IssuerTable { issuer, jwks_url: None, algorithms: None, audience: None, token_profile: None },
        )],
        (None, false) => auth0.issuers.iter().map(|entry| ("auth0.issuers", entry.table())).collect(),
        (None, true) => {
            if !dev_issuer.enabled {
                problems.add(
                    "auth0.domain",
                    format!(
                        "no issuer is configured: set AUTH0_DOMAIN (your tenant, e.g. your-tenant.us.auth0.com) or AUTH0_ISSUER (the exact `iss` of your tokens){}",
                        if production { "; the production profile requires one" } else { "" }
                    ),
                );
                audience_required(auth0, problems);
                return None;
            }
            let audience = auth0.audience.clone().or_else(|| dev_issuer.audience.clone()).unwrap_or_default();
            return Some(IdentityProvider::Development { audience });
        }
    };
    let mut issuers = Vec::new();
    let mut missing_audience = false;
    for (setting, entry) in entries {
        let issuer = ProviderUrl::parse(&entry.issuer)
            .map_err(|why| problems.add(setting, format!("the issuer {:?} {why}", entry.issuer)))
            .ok();
        if issuers.iter().any(|known: &IssuerSettings| known.issuer.as_str() == entry.issuer) {
            problems.add(setting, format!("the issuer {:?} is listed twice", entry.issuer));
        }
        let own_jwks_url = entry.jwks_url.as_deref().map(|url| {
            ProviderUrl::parse(url).map_err(|why| problems.add(setting, format!("the key set URL {url:?} {why}"))).ok()
        });
        let audience = entry.audience.or_else(|| auth0.audience.clone());
        missing_audience |= audience.is_none();
        if let (Some(issuer), Some(audience)) = (issuer, audience) {
            issuers.push(IssuerSettings {
                issuer,
                audience,
                jwks_url: own_jwks_url.unwrap_or_else(|| jwks_url.clone()),
                algorithms: entry.algorithms.unwrap_or_else(|| auth0.algorithms.clone()),
                token_profile: entry.token_profile.unwrap_or(auth0.token_profile),
            });
        }
    }
    if missing_audience {
        audience_required(auth0, problems);
        return None;
    }
    Some(IdentityProvider::Configured(issuers))
}

/// The development issuer mints tokens for anyone who can reach it: it runs only when every
/// address the service listens on is a loopback address, unless `dev_issuer.allow_non_loopback`.
fn dev_issuer_on_loopback(
    server: &ServerSettings,
    metrics: &MetricsSettings,
    dev_issuer: &DevIssuerSettings,
    problems: &mut Problems,
) {
    if dev_issuer.allow_non_loopback {
        return;
    }
    let metrics_address = metrics.address.filter(|_| metrics.enabled).map(|address| ("metrics.address", address.ip()));
    for (setting, ip) in [("server.host", server.host)].into_iter().chain(metrics_address) {
        if !ip.is_loopback() {
            problems.add(
                "dev_issuer.allow_non_loopback",
                format!(
                    "the development issuer would run while {setting} is {ip}, which other hosts can reach: anyone there could mint tokens this service accepts. Configure your issuer (AUTH0_DOMAIN or AUTH0_ISSUER, and AUTH0_API_AUDIENCE), listen on 127.0.0.1, or set APP_DEV_ISSUER__ALLOW_NON_LOOPBACK=true if that is really meant"
                ),
            );
        }
    }
}

/// `AUTH0_*` variables that are set but empty: each is an error, never a silent fallback (to the
/// development issuer, or to a default).
fn empty_auth0_variables() -> Vec<Problem> {
    AUTH0_VARIABLES
        .iter()
        .filter(|(variable, _)| {
            std::env::var_os(variable).is_some_and(|value| value.to_string_lossy().trim().is_empty())
        })
        .map(|(variable, setting)| {
            Problem::new(
                *setting,
                format!(
                    "{variable} is set but empty: give it a value or unset it (an empty value is never taken as unset)"
                ),
            )
        })
        .collect()
}

fn audience_required(auth0: &Auth0Settings, problems: &mut Problems) -> Option<String> {
    if auth0.audience.is_none() {
        problems.add(
            "auth0.audience",
            "is empty: set AUTH0_API_AUDIENCE to the identifier of your API in the Auth0 dashboard (e.g. https://api.example.com)",
        );
    }
    auth0.audience.clone()
}

fn section<T: DeserializeOwned>(figment: &Figment, name: &str, problems: &mut Problems) -> Option<T> {
    figment
        .extract_inner(name)
        .map_err(|errors| problems.0.extend(errors.into_iter().map(|error| Problem::from_figment(name, error))))
        .ok()
}

fn refuse_unknown_keys(figment: &Figment, known: &[&str], problems: &mut Problems) {
    for key in figment.extract::<figment::value::Dict>().unwrap_or_default().into_keys() {
        if !known.contains(&key.as_str()) {
            problems.add(key, format!("is not a setting (the settings are {})", known.join(", ")));
        }
    }
}
