//! The URL a proof's `htu` must name: the service's public URL (`server.public_url`) followed by
//! the request's path — never the `Host` header, which the client chooses. Both sides are
//! compared after RFC 3986 §6.2.2–6.2.3 normalisation: scheme and host in lower case, the
//! default port dropped, dot segments removed, an empty path as `/`, percent-encodings of
//! unreserved characters decoded and the others in upper case; query and fragment ignored.

use std::fmt::Write as _;

use url::Url;

/// The public URL requests are checked against.
#[derive(Debug, Clone)]
pub struct PublicUrl {
    /// Scheme, host and port, normalised, without a trailing slash.
    origin: String,
    /// The path the service is mounted under (empty, or starting with `/`), without a trailing slash.
    base_path: String,
}

impl PublicUrl {
    /// The service as clients reach it, e.g. `https://api.example.com` or `https://example.com/api`.
    pub fn new(url: &Url) -> Self {
        let origin = url.origin().ascii_serialization();
        let base_path = match url.path().trim_end_matches('/') {
            "" => String::new(),
            path => normalized_path(path),
        };
        PublicUrl { origin, base_path }
    }

    /// The URL a request to `path` has, normalised: what `htu` must name.
    pub fn of(&self, path: &str) -> String {
        let path = Url::parse(&format!("{}{}{path}", self.origin, self.base_path))
            .map(|url| normalized_path(url.path()))
            .unwrap_or_else(|_| normalized_path(path));
        format!("{}{path}", self.origin)
    }

    /// Whether `htu` names the URL of a request to `path`; when it does not, the URL it must name.
    pub fn check(&self, htu: &str, path: &str) -> Result<(), String> {
        // The common case costs no parsing: `htu` is the public URL and the path as they are
        // written, and the path has nothing to normalise.
        let without_query = htu.split(['?', '#']).next().unwrap_or_default();
        let written = without_query
            .strip_prefix(self.origin.as_str())
            .and_then(|rest| rest.strip_prefix(self.base_path.as_str()))
            .is_some_and(|rest| rest == path);
        if written && is_normal_path(path) {
            return Ok(());
        }
        let expected = self.of(path);
        if normalized(htu).is_some_and(|htu| htu == expected) { Ok(()) } else { Err(expected) }
    }
}

/// Whether `path` is already in normal form: `/`-separated segments of unreserved characters,
/// none of them `.` or `..`.
fn is_normal_path(path: &str) -> bool {
    path.starts_with('/')
        && path[1..].split('/').all(|segment| {
            segment != "."
                && segment != ".."
                && segment.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
        })
}

/// `url` normalised, without query and fragment; `None` when it is not an absolute http(s) URL.
fn normalized(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok().filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    Some(format!("{}{}", parsed.origin().ascii_serialization(), normalized_path(parsed.path())))
}

/// Percent-encodings of unreserved characters decoded, the others in upper case.
fn normalized_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes.get(at + 1..at + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[at], hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'%', Some(byte)) => {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    out.push(char::from(byte));
                } else {
                    let _ = write!(out, "%{byte:02X}");
                }
                at += 3;
            }
            _ => {
                let next = path[at..].chars().next().unwrap_or_default();
                out.push(next);
                at += next.len_utf8();
            }
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(url: &str) -> PublicUrl {
        PublicUrl::new(&Url::parse(url).unwrap())
    }

    #[test]
    fn equivalent_urls_name_the_request() {
        let public = public("https://api.example.com");
        let expected = public.of("/api/private");
        assert_eq!(expected, "https://api.example.com/api/private");
        for htu in [
            "https://api.example.com/api/private",
            "HTTPS://API.Example.COM/api/private",
            "https://api.example.com:443/api/private",
            "https://api.example.com/api/./x/../private",
            "https://api.example.com/%61pi/private",
            "https://api.example.com/api/private?query=ignored#and-fragment",
        ] {
            assert_eq!(public.check(htu, "/api/private"), Ok(()), "{htu}");
        }
        for htu in [
            "http://api.example.com/api/private",
            "https://api.example.com:8443/api/private",
            "https://evil.example.com/api/private",
            "https://api.example.com/api/Private",
            "https://api.example.com/api/private/",
            "https://user@api.example.com/api/private",
            "/api/private",
            "not a url",
        ] {
            assert_eq!(public.check(htu, "/api/private"), Err(expected.clone()), "{htu}");
        }
    }

    #[test]
    fn a_public_url_with_a_path_prefixes_the_request_path() {
        let public = public("https://example.com/gateway/");
        assert_eq!(public.of("/api/private"), "https://example.com/gateway/api/private");
        assert_eq!(public.of("/api/%7euser"), "https://example.com/gateway/api/~user");
        assert_eq!(normalized_path("/a%2fb%2Fc"), "/a%2Fb%2Fc");
        assert_eq!(public.check("https://example.com/gateway/api/%7Euser", "/api/~user"), Ok(()));
        assert_eq!(public.check("https://example.com/gateway/api/~user", "/api/%7euser"), Ok(()));
        assert!(public.check("https://example.com/gateway/api/x/../y", "/api/x/../y").is_ok(), "both normalised");
        assert!(
            public.check("https://example.com/api/private", "/api/private").is_err(),
            "the gateway path is missing"
        );
        assert!(!is_normal_path("/api/./x") && !is_normal_path("/a%20b") && is_normal_path("/api/private-scoped"));
        assert_eq!(self::public("http://127.0.0.1:3000").of("/api/private"), "http://127.0.0.1:3000/api/private");
        assert_eq!(self::public("http://127.0.0.1:3000/").of("/dev/token"), "http://127.0.0.1:3000/dev/token");
    }
}
