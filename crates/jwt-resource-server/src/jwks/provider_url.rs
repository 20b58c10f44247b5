//! The one URL policy for everything fetched from an identity provider: `https`, or plain `http`
//! on a loopback host (a local issuer). Settings check configured URLs with it at start-up; the
//! key source checks the `jwks_uri` a discovery document names with it at run time.

use std::{fmt, net::IpAddr};

use url::Url;

/// An absolute URL the service may fetch from, kept exactly as written: an issuer is compared
/// with a token's `iss` character for character, so `https://login.example.com` must not turn
/// into `https://login.example.com/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrl {
    written: String,
    url: Url,
}

/// Why a URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not an absolute URL.
    #[error("is not an absolute URL")]
    NotAbsolute,
    /// Plain `http` to a host that is not loopback.
    #[error("must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)")]
    PlainHttp,
    /// Another scheme.
    #[error("must be an https URL")]
    NotHttps,
}

impl ProviderUrl {
    /// Checks `text` against the policy.
    pub fn parse(text: &str) -> Result<Self, UrlRefused> {
        let url = Url::parse(text).map_err(|_| UrlRefused::NotAbsolute)?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(UrlRefused::PlainHttp),
            _ => return Err(UrlRefused::NotHttps),
        }
        Ok(ProviderUrl { written: text.to_owned(), url })
    }

    /// The URL exactly as written.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The parsed URL, for requests.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Where this issuer's metadata may be, in the order to try: the OpenID Connect Discovery
    /// form, `{issuer}/.well-known/openid-configuration`; then, for an issuer with a path such as
    /// `https://idp.example.com/tenant-a`, RFC 8414's form with the path after the well-known
    /// segment, `https://idp.example.com/.well-known/oauth-authorization-server/tenant-a`, and
    /// the same with `openid-configuration` (RFC 8414 §5). No double slash, no duplicate.
    pub fn discovery_urls(&self) -> Vec<Url> {
        let path = self.url.path().trim_end_matches('/');
        let at = |new_path: String| {
            let mut url = self.url.clone();
            url.set_path(&new_path);
            url.set_query(None);
            url.set_fragment(None);
            url
        };
        let mut urls = vec![at(format!("{path}/.well-known/openid-configuration"))];
        for well_known in ["oauth-authorization-server", "openid-configuration"] {
            let url = at(format!("/.well-known/{well_known}{path}"));
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        urls
    }
}

impl fmt::Display for ProviderUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// Whether the URL's host is 127.0.0.0/8, ::1 or localhost.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
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
            assert!(ProviderUrl::parse(allowed).is_ok(), "{allowed}");
        }
        for (refused, why) in [
            ("http://tenant.auth0.com/jwks", UrlRefused::PlainHttp),
            ("http://10.0.0.1/jwks", UrlRefused::PlainHttp),
            ("ftp://127.0.0.1/jwks", UrlRefused::NotHttps),
            ("file:///etc/passwd", UrlRefused::NotHttps),
            ("/relative", UrlRefused::NotAbsolute),
        ] {
            assert_eq!(ProviderUrl::parse(refused), Err(why), "{refused}");
        }
    }

    #[test]
    fn the_text_is_kept_as_written() {
        assert_eq!(ProviderUrl::parse("https://login.example.com").unwrap().as_str(), "https://login.example.com");
    }

    #[test]
    fn discovery_tries_the_openid_form_then_the_rfc_8414_forms() {
        let discovery = |issuer: &str| -> Vec<String> {
            ProviderUrl::parse(issuer).unwrap().discovery_urls().iter().map(Url::to_string).collect()
        };
        let root = [
            "https://tenant.auth0.com/.well-known/openid-configuration",
            "https://tenant.auth0.com/.well-known/oauth-authorization-server",
        ];
        assert_eq!(discovery("https://tenant.auth0.com/"), root);
        assert_eq!(discovery("https://tenant.auth0.com"), root);
        assert_eq!(
            discovery("https://login.example.com/realms/acme/"),
            [
                "https://login.example.com/realms/acme/.well-known/openid-configuration",
                "https://login.example.com/.well-known/oauth-authorization-server/realms/acme",
                "https://login.example.com/.well-known/openid-configuration/realms/acme",
            ]
        );
    }
}
