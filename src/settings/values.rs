//! How one value is read from a settings file or an environment variable into the type the code
//! uses. A value that cannot be read is a problem naming its setting (figment adds the key).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, de};
use url::Url;

/// A duration written as "30s", "10m", "1h 30m", "250ms" or a number of seconds.
pub fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
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

/// A secret setting: never shown by `Debug`, so settings can be logged whole.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A secret where empty means unset.
pub fn optional_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    Ok(optional_text(deserializer)?.map(Secret))
}

/// A string where empty means unset; numbers are taken as text (an env value like `12345`).
pub fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
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
pub fn algorithms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Algorithm>, D::Error> {
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

/// Algorithms given for one entry, or none (the entry takes the top-level ones).
pub fn optional_algorithms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<Algorithm>>, D::Error> {
    algorithms(deserializer).map(Some)
}

/// `auth0.issuers`: a list of URLs or tables, or one comma-separated string of URLs (the
/// `AUTH0_ISSUERS` variable).
pub fn issuer_entries<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<super::sections::IssuerEntry>, D::Error> {
    use super::sections::IssuerEntry;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<IssuerEntry>),
        Text(String),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::List(entries) => entries,
        Raw::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| IssuerEntry::Url(url.to_owned()))
            .collect(),
    })
}

/// A listen host: an IP address, or `localhost` for 127.0.0.1.
pub fn listen_host<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IpAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    let text = text.trim();
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(Ipv4Addr::LOCALHOST.into());
    }
    text.parse().map_err(|_| {
        de::Error::custom(format!("{text:?} is not an IP address like 127.0.0.1, 0.0.0.0 or :: (or localhost)"))
    })
}

/// An optional socket address like `127.0.0.1:9100`; empty means unset.
pub fn optional_socket_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SocketAddr>, D::Error> {
    optional_text(deserializer)?
        .map(|text| {
            text.parse().map_err(|_| de::Error::custom(format!("{text:?} is not an address like 127.0.0.1:9100")))
        })
        .transpose()
}

/// An optional absolute `http` or `https` URL; empty means unset.
pub fn optional_http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Url>, D::Error> {
    optional_text(deserializer)?
        .map(|text| match Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
            _ => Err(de::Error::custom(format!("{text:?} is not an absolute http(s) URL"))),
        })
        .transpose()
}

/// A browser origin: scheme, host and port, nothing else (`https://app.example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    /// The origin as browsers send it in `Origin`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let valid = Url::parse(&text).is_ok_and(|url| {
            matches!(url.scheme(), "http" | "https") && url.has_host() && url.path() == "/" && !text.ends_with('/')
        });
        if !valid || text == "*" {
            return Err(de::Error::custom(format!(
                "{text:?} is not an origin like https://app.example.com (scheme and host, no path; no wildcard)"
            )));
        }
        Ok(Origin(text))
    }
}
