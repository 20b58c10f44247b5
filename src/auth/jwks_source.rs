//! Where the issuer's key set comes from: a configured JWKS URL, or OpenID discovery.
//!
//! Every request has a connect timeout and a total timeout, follows no redirect, reads at most a
//! capped body, and goes to `https` only (plain `http` is allowed for loopback hosts).

use std::{net::IpAddr, sync::Mutex, time::Duration};

use reqwest::{Url, header};
use serde::Deserialize;

/// Why a key set could not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// A URL that this service refuses to fetch.
    #[error("{url} is not allowed: {why}")]
    UrlNotAllowed {
        /// The URL.
        url: String,
        /// Why.
        why: &'static str,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {detail}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// A status other than 200.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// A body over the cap.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// A body that is not the expected document.
    #[error("{url}: {detail}")]
    Invalid {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The discovery document names another issuer.
    #[error("the discovery document's issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's issuer.
        found: String,
    },
    /// The whole fetch took longer than allowed.
    #[error("timed out: fetching the key set took longer than {0:?}")]
    Timeout(Duration),
}

/// Limits for every request to the identity provider.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Time to open a connection.
    pub connect_timeout: Duration,
    /// Time for one request, body included.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_body_bytes: usize,
}

/// Fetches the raw key set document of one issuer.
#[derive(Debug)]
pub struct JwksSource {
    http: reqwest::Client,
    issuer: String,
    configured_jwks_url: Option<Url>,
    discovered_jwks_url: Mutex<Option<Url>>,
    max_body_bytes: usize,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

const JWKS_MEDIA_TYPES: &str = "application/jwk-set+json, application/json";

impl JwksSource {
    /// A source for `issuer`'s keys: `jwks_url` when given, else OpenID discovery.
    pub fn new(issuer: String, jwks_url: Option<&str>, limits: &FetchLimits) -> Result<Self, FetchError> {
        let configured_jwks_url = jwks_url.map(allowed_url).transpose()?;
        allowed_url(&issuer)?;
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Transport { url: issuer.clone(), detail: e.to_string() })?;
        Ok(JwksSource {
            http,
            issuer,
            configured_jwks_url,
            discovered_jwks_url: Mutex::new(None),
            max_body_bytes: limits.max_body_bytes,
        })
    }

    /// The OpenID discovery URL of the issuer, without a double slash.
    pub fn discovery_url(issuer: &str) -> String {
        format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
    }

    /// Fetches the key set document.
    pub async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        let jwks_url = self.jwks_url().await?;
        let result = self.get(&jwks_url, JWKS_MEDIA_TYPES).await;
        if result.is_err() && self.configured_jwks_url.is_none() {
            // The discovery document may have moved the key set: look again next time.
            *self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        result
    }

    async fn jwks_url(&self) -> Result<Url, FetchError> {
        if let Some(url) = &self.configured_jwks_url {
            return Ok(url.clone());
        }
        if let Some(url) = self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(url);
        }
        let discovery_url = allowed_url(&Self::discovery_url(&self.issuer))?;
        let body = self.get(&discovery_url, "application/json").await?;
        let document: Discovery = serde_json::from_slice(&body).map_err(|e| FetchError::Invalid {
            url: discovery_url.to_string(),
            detail: format!("not an OpenID discovery document with issuer and jwks_uri: {e}"),
        })?;
        if document.issuer != self.issuer {
            return Err(FetchError::IssuerMismatch { expected: self.issuer.clone(), found: document.issuer });
        }
        let url = allowed_url(&document.jwks_uri)?;
        *self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()) = Some(url.clone());
        Ok(url)
    }

    async fn get(&self, url: &Url, accept: &str) -> Result<Vec<u8>, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport { url: url.to_string(), detail: describe(&e) };
        let mut response = self.http.get(url.clone()).header(header::ACCEPT, accept).send().await.map_err(transport)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        let too_large = || FetchError::TooLarge { url: url.to_string(), limit: self.max_body_bytes };
        if response.content_length().is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Parses `value` and checks it is `https`, or `http` on a loopback host.
fn allowed_url(value: &str) -> Result<Url, FetchError> {
    let refuse = |why| FetchError::UrlNotAllowed { url: value.to_owned(), why };
    let url = Url::parse(value).map_err(|_| refuse("not an absolute URL"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(refuse("only https is fetched (http only on loopback hosts)")),
    }
}

/// Whether the URL's host is 127.0.0.0/8, ::1 or localhost.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// reqwest's error with its causes, which hold the useful part ("connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the body"
    } else {
        "request failed"
    }
    .to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_everywhere_and_http_only_on_loopback() {
        for allowed in [
            "https://tenant.auth0.com/.well-known/jwks.json",
            "http://127.0.0.1:4000/jwks",
            "http://127.8.0.1/",
            "http://[::1]:80/",
            "http://localhost:3000/dev/",
        ] {
            assert!(allowed_url(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://tenant.auth0.com/jwks",
            "http://10.0.0.1/jwks",
            "ftp://127.0.0.1/jwks",
            "file:///etc/passwd",
            "/relative",
        ] {
            assert!(allowed_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_discovery_url_has_no_double_slash() {
        let expected = "https://tenant.auth0.com/.well-known/openid-configuration";
        assert_eq!(JwksSource::discovery_url("https://tenant.auth0.com/"), expected);
        assert_eq!(JwksSource::discovery_url("https://tenant.auth0.com"), expected);
        assert_eq!(
            JwksSource::discovery_url("https://login.example.com/realms/acme/"),
            "https://login.example.com/realms/acme/.well-known/openid-configuration"
        );
    }
}
