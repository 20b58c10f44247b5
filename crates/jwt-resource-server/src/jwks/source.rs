//! Where the issuer's key set comes from: a configured JWKS URL, or the `jwks_uri` of the issuer's
//! metadata, looked for where OpenID Connect Discovery and RFC 8414 put it
//! ([`ProviderUrl::discovery_urls`]); only a document naming the configured issuer exactly counts.
//!
//! Every request has a connect timeout and a total timeout, follows no redirect, reads at most a
//! capped body, and goes only where [`ProviderUrl`]'s policy allows.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::{
    Url,
    header::{self, HeaderName, HeaderValue},
};
use serde::Deserialize;
use tracing::Instrument;

use super::provider_url::{ProviderUrl, UrlRefused};

/// Why a key set could not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// A discovery document named a `jwks_uri` this service refuses to fetch.
    #[error("{url} is not allowed: it {why}")]
    UrlNotAllowed {
        /// The URL.
        url: String,
        /// Why.
        why: UrlRefused,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {kind}{cause}")]
    Transport {
        /// The URL.
        url: Url,
        /// What failed.
        kind: TransportFailure,
        /// The underlying causes, each after `: ` ("connection refused").
        cause: String,
    },
    /// A status other than 200.
    #[error("{url} answered {status}")]
    Status {
        /// The URL.
        url: Url,
        /// The status.
        status: u16,
    },
    /// A body over the cap.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: Url,
        /// The cap.
        limit: usize,
    },
    /// The discovery document lacks `issuer` or `jwks_uri`, or is not JSON.
    #[error("{url}: not an OpenID discovery document with issuer and jwks_uri: {reason}")]
    NotDiscovery {
        /// The URL.
        url: Url,
        /// What serde_json found wrong.
        reason: String,
    },
    /// No metadata location gave a document for the issuer; why, for each location tried.
    #[error("no metadata document names the issuer: {0}")]
    NoDiscovery(Failures),
    /// The discovery document names another issuer.
    #[error("the discovery document's issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's issuer.
        found: String,
    },
    /// The key set document is not usable.
    #[error(transparent)]
    KeySet(#[from] super::key_set::KeySetError),
    /// The whole fetch took longer than allowed.
    #[error("timed out: fetching the key set took longer than {0:?}")]
    Timeout(Duration),
}

impl FetchError {
    /// What went wrong, as a readiness probe may show it to anyone: each URL without userinfo,
    /// query or fragment, and the kind of failure without its details (the causes, the texts
    /// the provider sent), which go to the log.
    pub fn summary(&self) -> String {
        match self {
            FetchError::UrlNotAllowed { why, .. } => {
                format!("the metadata names a key set URL that is not allowed: it {why}")
            }
            FetchError::Transport { url, kind, .. } => format!("{}: {kind}", bare(url)),
            FetchError::Status { url, status } => format!("{} answered {status}", bare(url)),
            FetchError::TooLarge { url, limit } => format!("{} sent more than {limit} bytes", bare(url)),
            FetchError::NotDiscovery { url, .. } => {
                format!("{}: not an OpenID discovery document with issuer and jwks_uri", bare(url))
            }
            FetchError::NoDiscovery(failures) => {
                let each: Vec<String> = failures.0.iter().map(FetchError::summary).collect();
                format!("no metadata document names the issuer: {}", each.join("; "))
            }
            FetchError::IssuerMismatch { .. } => {
                "the discovery document's issuer is not the configured issuer".to_owned()
            }
            FetchError::KeySet(super::key_set::KeySetError::NotJwks { .. }) => {
                "the key set is not a JWKS document".to_owned()
            }
            FetchError::KeySet(error) => error.to_string(),
            FetchError::Timeout(_) => self.to_string(),
        }
    }
}

/// `url` without userinfo, query and fragment.
fn bare(url: &Url) -> String {
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.set_query(None);
    bare.set_fragment(None);
    bare.to_string()
}

/// The failures of several attempts, written one after the other.
#[derive(Debug, Clone)]
pub struct Failures(pub Vec<FetchError>);

impl std::fmt::Display for Failures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, failure) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}

/// The kind of a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportFailure {
    /// The request timed out.
    #[error("timed out")]
    Timeout,
    /// No connection could be made.
    #[error("could not connect")]
    Connect,
    /// The body could not be read.
    #[error("failed reading the body")]
    Body,
    /// Anything else.
    #[error("request failed")]
    Request,
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

impl Default for FetchLimits {
    /// 3 s to connect, 5 s for a request, 1 MiB of body.
    fn default() -> Self {
        FetchLimits {
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(5),
            max_body_bytes: 1 << 20,
        }
    }
}

/// Headers to add to every request to the identity provider, made anew for each (a W3C
/// `traceparent` for the current trace, say).
pub type FetchHeaders = Arc<dyn Fn() -> Vec<(HeaderName, HeaderValue)> + Send + Sync>;

/// Fetches the raw key set document of one issuer.
pub struct JwksSource {
    http: reqwest::Client,
    issuer: ProviderUrl,
    configured_jwks_url: Option<ProviderUrl>,
    discovered_jwks_url: Mutex<Option<Url>>,
    max_body_bytes: usize,
    headers: Option<FetchHeaders>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

/// Where a person logs in with the issuer (OpenID Connect Discovery §3, RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginEndpoints {
    /// The authorization endpoint.
    pub authorization: Url,
    /// The token endpoint.
    pub token: Url,
}

const JWKS_MEDIA_TYPES: &str = "application/jwk-set+json, application/json";

impl JwksSource {
    /// A source for `issuer`'s keys: `jwks_url` when given, else OpenID discovery; every request
    /// carries the `headers` made for it.
    pub(crate) fn new(
        issuer: ProviderUrl,
        jwks_url: Option<ProviderUrl>,
        limits: &FetchLimits,
        headers: Option<FetchHeaders>,
    ) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport(issuer.url(), &e))?;
        Ok(JwksSource {
            http,
            issuer,
            configured_jwks_url: jwks_url,
            discovered_jwks_url: Mutex::new(None),
            max_body_bytes: limits.max_body_bytes,
            headers,
        })
    }

    /// The `issuer` named by the metadata document at `discovery_url`, fetched within `limits`,
    /// under the URL policy.
    pub(crate) async fn issuer_at(discovery_url: &str, limits: &FetchLimits) -> Result<String, FetchError> {
        let url = ProviderUrl::parse(discovery_url)
            .map_err(|why| FetchError::UrlNotAllowed { url: discovery_url.to_owned(), why })?;
        let source = JwksSource::new(url.clone(), None, limits, None)?;
        let body = source.get(url.url(), "application/json").await?;
        #[derive(Deserialize)]
        struct Named {
            issuer: String,
        }
        let named: Named = serde_json::from_slice(&body)
            .map_err(|e| FetchError::NotDiscovery { url: url.url().clone(), reason: e.to_string() })?;
        Ok(named.issuer)
    }

    /// The issuer whose keys this source fetches.
    pub fn issuer(&self) -> &ProviderUrl {
        &self.issuer
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

    /// Reads the issuer's metadata again and fetches the key set from its `jwks_uri` when that
    /// moved; `None` when the keys are found by a configured URL or still where they were.
    pub async fn fetch_if_moved(&self) -> Result<Option<Vec<u8>>, FetchError> {
        if self.configured_jwks_url.is_some() {
            return Ok(None);
        }
        let known = self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let found = self.discover_jwks_url().await?;
        if known.as_ref() == Some(&found) {
            return Ok(None);
        }
        tracing::info!(from = ?known.as_ref().map(Url::as_str), to = %found, "the issuer's metadata moved its key set");
        self.get(&found, JWKS_MEDIA_TYPES).await.map(Some)
    }

    async fn jwks_url(&self) -> Result<Url, FetchError> {
        if let Some(url) = &self.configured_jwks_url {
            return Ok(url.url().clone());
        }
        if let Some(url) = self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(url);
        }
        self.discover_jwks_url().await
    }

    /// The `jwks_uri` of the issuer's metadata, found now and remembered.
    async fn discover_jwks_url(&self) -> Result<Url, FetchError> {
        let span = tracing::debug_span!("discover_keys_url", issuer = self.issuer.as_str());
        self.discover_jwks_url_now().instrument(span).await
    }

    async fn discover_jwks_url_now(&self) -> Result<Url, FetchError> {
        let mut failures = Vec::new();
        for discovery_url in self.issuer.discovery_urls() {
            match self.discover(discovery_url).await {
                Ok(url) => {
                    *self.discovered_jwks_url.lock().unwrap_or_else(|e| e.into_inner()) = Some(url.clone());
                    return Ok(url);
                }
                // The issuer's host is unreachable or silent: every other form would fail alike.
                Err(error @ (FetchError::Transport { .. } | FetchError::Timeout(_))) => return Err(error),
                Err(error) => failures.push(error),
            }
        }
        Err(FetchError::NoDiscovery(Failures(failures)))
    }

    /// The issuer's authorization and token endpoints, from its metadata document (found as for
    /// the keys), each under the one URL policy.
    pub async fn login_endpoints(&self) -> Result<LoginEndpoints, FetchError> {
        let mut failures = Vec::new();
        for discovery_url in self.issuer.discovery_urls() {
            match self.metadata(discovery_url.clone()).await {
                Ok(document) => {
                    let endpoint = |url: Option<String>, member: &str| {
                        let url = url.ok_or_else(|| FetchError::NotDiscovery {
                            url: discovery_url.clone(),
                            reason: format!("it has no {member}"),
                        })?;
                        let parsed = ProviderUrl::parse(&url).map_err(|why| FetchError::UrlNotAllowed { url, why })?;
                        Ok::<_, FetchError>(parsed.url().clone())
                    };
                    return Ok(LoginEndpoints {
                        authorization: endpoint(document.authorization_endpoint, "authorization_endpoint")?,
                        token: endpoint(document.token_endpoint, "token_endpoint")?,
                    });
                }
                Err(error @ (FetchError::Transport { .. } | FetchError::Timeout(_))) => return Err(error),
                Err(error) => failures.push(error),
            }
        }
        Err(FetchError::NoDiscovery(Failures(failures)))
    }

    /// The `jwks_uri` of the metadata document at `discovery_url`, when the document names the
    /// configured issuer exactly.
    async fn discover(&self, discovery_url: Url) -> Result<Url, FetchError> {
        let document = self.metadata(discovery_url).await?;
        let url = ProviderUrl::parse(&document.jwks_uri)
            .map_err(|why| FetchError::UrlNotAllowed { url: document.jwks_uri, why })?;
        Ok(url.url().clone())
    }

    /// The metadata document at `discovery_url`, when it names the configured issuer exactly.
    async fn metadata(&self, discovery_url: Url) -> Result<Discovery, FetchError> {
        let body = self.get(&discovery_url, "application/json").await?;
        let document: Discovery = serde_json::from_slice(&body)
            .map_err(|e| FetchError::NotDiscovery { url: discovery_url, reason: e.to_string() })?;
        if document.issuer != self.issuer.as_str() {
            return Err(FetchError::IssuerMismatch { expected: self.issuer.to_string(), found: document.issuer });
        }
        Ok(document)
    }

    /// One GET, in a client span (OpenTelemetry's HTTP conventions) that the made headers see as
    /// the current span: a `traceparent` they carry names it.
    async fn get(&self, url: &Url, accept: &str) -> Result<Vec<u8>, FetchError> {
        let span = tracing::debug_span!(
            "http_get",
            otel.name = "GET",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = "GET",
            url.full = %bare(url),
            http.response.status_code = tracing::field::Empty,
        );
        let result = self.get_now(url, accept).instrument(span.clone()).await;
        if let Err(error) = &result {
            if let FetchError::Status { status, .. } = error {
                span.record("http.response.status_code", i64::from(*status));
            }
            span.record("otel.status_code", "error");
        } else {
            span.record("http.response.status_code", 200_i64);
        }
        result
    }

    async fn get_now(&self, url: &Url, accept: &str) -> Result<Vec<u8>, FetchError> {
        let mut request = self.http.get(url.clone()).header(header::ACCEPT, accept);
        for (name, value) in self.headers.as_ref().map(|make| make()).unwrap_or_default() {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(|e| transport(url, &e))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status { url: url.clone(), status: response.status().as_u16() });
        }
        let too_large = || FetchError::TooLarge { url: url.clone(), limit: self.max_body_bytes };
        if response.content_length().is_some_and(|length| length > self.max_body_bytes as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(url, &e))? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// reqwest's error as its kind and its causes, which hold the useful part ("connection refused").
fn transport(url: &Url, error: &reqwest::Error) -> FetchError {
    let kind = if error.is_timeout() {
        TransportFailure::Timeout
    } else if error.is_connect() {
        TransportFailure::Connect
    } else if error.is_body() || error.is_decode() {
        TransportFailure::Body
    } else {
        TransportFailure::Request
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    FetchError::Transport { url: url.clone(), kind, cause }
}
