//! The headers of the HTML pages the service serves (Swagger UI, its OAuth receiver, the
//! development issuer's sign-in page): a Content-Security-Policy that allows exactly the page's
//! own inline scripts (by their SHA-256, since the pages are fixed at start-up) and what the page
//! needs, and no framing (`X-Frame-Options: DENY`), no content sniffing, no referrer.

use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{
    Body, Response,
    http::{HeaderValue, header},
};

/// The directives every page's policy starts with: nothing is allowed unless listed, and the
/// page may not be framed or change its base URL.
const BASE_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A Content-Security-Policy: the base policy and `directives`.
pub fn content_security_policy(directives: &[&str]) -> HeaderValue {
    let mut policy = BASE_POLICY.to_owned();
    for directive in directives {
        policy.push_str("; ");
        policy.push_str(directive);
    }
    HeaderValue::from_str(&policy).expect("a policy is header text")
}

/// The `script-src` sources of the inline scripts of `html`: `'sha256-…'` of each `<script>`
/// element's text, found as an HTML parser finds them (a script's text ends at the first
/// `</script`, whatever it holds).
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(open_end) = rest[start..].find('>') else { break };
        let text_start = start + open_end + 1;
        let Some(length) = rest[text_start..].find("</script") else { break };
        let text = &rest[text_start..text_start + length];
        hashes.push(format!("'sha256-{}'", STANDARD.encode(digest(&SHA256, text.as_bytes()))));
        rest = &rest[text_start + length..];
    }
    hashes
}

/// An HTML page with its policy and the headers that keep it out of frames and other sites.
pub fn html_page(body: impl Into<Body>, policy: HeaderValue) -> Response {
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, policy)
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hashes_are_those_of_each_script_elements_text() {
        let html = r#"<p><script src="x"></script><script>let a = "<script>";</script>
<style>p{}</style><script type="module">run()</script></p>"#;
        let hash = |text: &str| format!("'sha256-{}'", STANDARD.encode(digest(&SHA256, text.as_bytes())));
        assert_eq!(inline_script_hashes(html), [hash(""), hash(r#"let a = "<script>";"#), hash("run()")]);
        // CSP3's example: the hash of `alert('Hello, world.');`.
        assert_eq!(hash("alert('Hello, world.');"), "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='");
        let policy = content_security_policy(&["script-src 'sha256-x'"]);
        assert_eq!(policy, "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; script-src 'sha256-x'");
    }
}
