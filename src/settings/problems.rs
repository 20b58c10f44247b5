//! What is wrong with the settings: every problem, each naming its setting and the environment
//! variable that sets it.

use std::{fmt, time::Duration};

use super::sources::env_variable_for;

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted setting name, e.g. `auth0.audience`.
    pub setting: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub(super) fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { setting: setting.into(), message: message.into() }
    }

    pub(super) fn from_figment(section: &str, error: figment::Error) -> Self {
        let inner: Vec<String> =
            error.path.iter().filter(|key| *key != section).map(|key| key.to_lowercase()).collect();
        let setting = if inner.is_empty() { section.to_owned() } else { format!("{section}.{}", inner.join(".")) };
        let origin = error.metadata.as_ref().map(|meta| format!(" (from {})", meta.name)).unwrap_or_default();
        Problem::new(setting, format!("{}{origin}", error.kind))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match env_variable_for(&self.setting) {
            Some(variable) => write!(f, "{} (env {variable}): {}", self.setting, self.message),
            None => write!(f, "{}: {}", self.setting, self.message),
        }
    }
}

/// The problems found so far.
#[derive(Debug, Default)]
pub(super) struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, setting: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(setting, message));
    }

    pub fn not_zero(&mut self, setting: &str, value: Duration) {
        if value.is_zero() {
            self.add(setting, "must be above 0");
        }
    }

    pub fn above_zero(&mut self, setting: &str, value: u64) {
        if value == 0 {
            self.add(setting, "must be above 0");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every problem found in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
}

impl From<Problems> for SettingsError {
    fn from(problems: Problems) -> Self {
        SettingsError { problems: problems.0 }
    }
}

impl From<Problem> for SettingsError {
    fn from(problem: Problem) -> Self {
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
