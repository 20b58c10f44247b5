//! Where settings come from, lowest precedence first:
//!
//! 1. the files of `settings/` compiled into the binary — `default.toml`, then the profile's
//!    file — so the binary runs from any directory with the repository's defaults;
//! 2. files of the same names in the settings folder (`APP_SETTINGS_DIR`, else `./settings` when
//!    it exists), each merged over its built-in twin;
//! 3. environment variables: the `AUTH0_*` names Auth0 users already have, `HOST` and `PORT`, and
//!    `APP_<SECTION>__<KEY>` for everything.

use std::path::{Path, PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
    value::{Uncased, UncasedStr},
};

use super::problems::Problem;

/// The files of `settings/`, compiled in: `default.toml` and one file per profile.
const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../settings/default.toml")),
    ("dev", include_str!("../../settings/dev.toml")),
    ("production", include_str!("../../settings/production.toml")),
];

/// Environment variables with the names Auth0 users already have, and the setting each one sets.
pub const AUTH0_VARIABLES: &[(&str, &str)] = &[
    ("AUTH0_DOMAIN", "auth0.domain"),
    ("AUTH0_ISSUER", "auth0.issuer"),
    ("AUTH0_ISSUERS", "auth0.issuers"),
    ("AUTH0_API_AUDIENCE", "auth0.audience"),
    ("AUTH0_ALGORITHMS", "auth0.algorithms"),
    ("AUTH0_JWKS_URL", "auth0.jwks_url"),
];

/// Plain variables a hosting platform sets, and the setting each one sets.
const SERVER_VARIABLES: &[(&str, &str)] = &[("HOST", "server.host"), ("PORT", "server.port")];

/// Variables that pick where settings come from rather than being settings themselves.
const PROFILE_VARIABLE: &str = "APP_PROFILE";
const SETTINGS_DIR_VARIABLE: &str = "APP_SETTINGS_DIR";

/// The folder looked for in the working directory when `APP_SETTINGS_DIR` is not set.
const SETTINGS_DIR: &str = "settings";

/// The profile used when `APP_PROFILE` is not set.
pub const DEFAULT_PROFILE: &str = "dev";

/// Where the settings come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Profile name: selects the built-in `<profile>.toml` and `<dir>/<profile>.toml`.
    pub profile: String,
    /// A folder whose `default.toml` and `<profile>.toml`, where they exist, override the
    /// built-in files.
    pub dir: Option<PathBuf>,
}

impl Sources {
    /// The built-in files of `profile` alone.
    pub fn built_in(profile: &str) -> Self {
        Sources { profile: profile.to_owned(), dir: None }
    }

    /// `APP_PROFILE` (default `dev`) and `APP_SETTINGS_DIR`, which must be a folder when set;
    /// without it, `./settings` when it is one.
    pub fn from_env() -> Result<Self, Problem> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.trim().is_empty());
        let profile = var(PROFILE_VARIABLE).unwrap_or_else(|| DEFAULT_PROFILE.into());
        let dir = match var(SETTINGS_DIR_VARIABLE) {
            Some(dir) if Path::new(&dir).is_dir() => Some(PathBuf::from(dir)),
            Some(dir) => {
                return Err(Problem::new(
                    "settings",
                    format!(
                        "{SETTINGS_DIR_VARIABLE}={dir} is not a folder: point it at the folder holding your settings files, or unset it to use the built-in ones"
                    ),
                ));
            }
            None => Some(PathBuf::from(SETTINGS_DIR)).filter(|dir| dir.is_dir()),
        };
        let sources = Sources { profile, dir };
        sources.check_profile()?;
        Ok(sources)
    }

    /// The settings files only, without the environment.
    pub fn files(&self) -> Figment {
        let mut figment = Figment::new().merge(("profile", &self.profile));
        for name in ["default", self.profile.as_str()] {
            if let Some((_, text)) = BUILT_IN.iter().find(|(built_in, _)| *built_in == name) {
                figment = figment.merge(Toml::string(text));
            }
            if let Some(file) = self.file(name).filter(|file| file.is_file()) {
                figment = figment.merge(Toml::file_exact(file));
            }
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

    /// The files of the settings folder that override built-in ones, for the start-up log.
    pub fn override_files(&self) -> Vec<PathBuf> {
        ["default", self.profile.as_str()]
            .into_iter()
            .filter_map(|name| self.file(name))
            .filter(|f| f.is_file())
            .collect()
    }

    fn file(&self, name: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|dir| dir.join(format!("{name}.toml")))
    }

    fn check_profile(&self) -> Result<(), Problem> {
        let built_in = BUILT_IN.iter().any(|(name, _)| *name == self.profile);
        if built_in || self.file(&self.profile).is_some_and(|file| file.is_file()) {
            return Ok(());
        }
        Err(Problem::new(
            "profile",
            format!(
                "{PROFILE_VARIABLE}={} has no file {} and is not built in: use one of {}",
                self.profile,
                self.file(&self.profile)
                    .unwrap_or_else(|| PathBuf::from(format!("{SETTINGS_DIR}/{}.toml", self.profile)))
                    .display(),
                self.known_profiles().join(", ")
            ),
        ))
    }

    fn known_profiles(&self) -> Vec<String> {
        let in_dir = self.dir.iter().flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().flatten());
        let mut names: Vec<String> = in_dir
            .filter_map(|entry| entry.file_name().into_string().ok()?.strip_suffix(".toml").map(str::to_owned))
            .chain(BUILT_IN.iter().map(|(name, _)| (*name).to_owned()))
            .filter(|name| name != "default")
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Maps an environment variable (without `prefix`) to the dotted setting it sets.
fn setting_for_env(key: &UncasedStr, prefix: &str) -> Uncased<'static> {
    AUTH0_VARIABLES
        .iter()
        .chain(SERVER_VARIABLES)
        .find(|(var, _)| var[prefix.len()..].eq_ignore_ascii_case(key.as_str()))
        .map(|(_, setting)| (*setting).into())
        .unwrap_or_else(|| key.as_str().to_owned().into())
}

/// The environment variable that sets `setting` (a dotted name); `None` for the sources themselves.
pub(super) fn env_variable_for(setting: &str) -> Option<String> {
    if let Some((var, _)) = AUTH0_VARIABLES.iter().chain(SERVER_VARIABLES).find(|(_, known)| *known == setting) {
        return Some((*var).to_owned());
    }
    match setting.split_once('.') {
        Some((section, key)) => Some(format!("APP_{}__{}", section.to_uppercase(), key.to_uppercase())),
        None if matches!(setting, "settings" | "profile") => None,
        // The OpenTelemetry variables are named as themselves.
        None if setting.starts_with("OTEL_") => None,
        None => Some(format!("APP_{}", setting.to_uppercase())),
    }
}
