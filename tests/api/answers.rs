//! Every answer is JSON with the documented body, framework errors included: no such path,
//! a method the path does not take, bodies too large, of the wrong type or unparsable; and the
//! RFC 9728 metadata at the URL formed from the resource identifier.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, Running, TestApp, TestIssuer, answer};

/// Asserts a JSON error answer with `status` and `code`; returns its description.
async fn assert_json_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/json; charset=utf-8");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    body["error_description"].as_str().expect("a description").to_owned()
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json_and_405_lists_the_allowed_methods() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    assert_json_error(app.get("/nowhere").await, 404, "not_found").await;
    assert_json_error(app.get("/api/public/extra").await, 404, "not_found").await;

    for (method, path, allow) in [
        ("TRACE", "/api/public", "GET, HEAD"),
        ("POST", "/api/private", "GET, HEAD"),
        ("DELETE", "/api/private-scoped", "GET, HEAD"),
        ("PUT", "/healthz", "GET, HEAD"),
        ("OPTIONS", "/readyz", "GET, HEAD"),
        ("POST", "/.well-known/oauth-protected-resource", "GET, HEAD"),
        ("PATCH", "/metrics", "GET, HEAD"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow), "{method} {path}");
        let description = assert_json_error(response, 405, "method_not_allowed").await;
        assert_eq!(description, format!("this path does not take {method}; it takes {allow}"));
    }

    let head = app.client.head(app.url("/api/public")).send().await.unwrap();
    assert_eq!(head.status(), 200, "HEAD is answered from GET");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_before_routing() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("server.max_body_bytes", 1024))).await;
    let too_large = app.client.post(app.url("/api/public")).body(vec![b'x'; 1025]).send().await.unwrap();
    let description = assert_json_error(too_large, 413, "content_too_large").await;
    assert_eq!(description, "the request body is larger than 1024 bytes");
    let within = app.client.post(app.url("/api/public")).body(vec![b'x'; 1024]).send().await.unwrap();
    assert_json_error(within, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn every_challenge_names_the_realm() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let missing = answer(app.get("/api/private").await).await;
    let invalid = answer(app.get_with_token("/api/private", "a.b.c").await).await;
    let expired = answer(app.get_with_token("/api/private", &issuer.token_with(json!({"exp": 1_000_000}))).await).await;
    let scope =
        answer(app.get_with_token("/api/private-scoped", &issuer.token_with(json!({"scope": "x"}))).await).await;
    let empty = app.client.get(app.url("/api/private")).header("authorization", "Bearer ").send().await.unwrap();
    let empty = answer(empty).await;
    for (got, status) in [(missing, 401), (invalid, 401), (expired, 401), (scope, 403), (empty, 400)] {
        assert_eq!(got.status, status);
        let challenge = got.challenge.expect("a challenge");
        assert!(challenge.starts_with("Bearer realm=\"protected-api\""), "{challenge}");
    }
}

#[tokio::test]
async fn resource_metadata_is_served_at_the_url_formed_from_an_audience_with_a_path() {
    let issuer = TestIssuer::start().await;
    let audience = "https://api.example.com/v2";
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.audience", audience))).await;
    let challenge = answer(app.get("/api/private").await).await.challenge.unwrap();
    let path_form = app.url("/.well-known/oauth-protected-resource/v2");
    assert!(challenge.ends_with(&format!("resource_metadata=\"{path_form}\"")), "{challenge}");
    for url in [path_form, app.url("/.well-known/oauth-protected-resource")] {
        let metadata = app.client.get(&url).send().await.unwrap();
        assert_eq!(metadata.status(), 200, "{url}");
        let metadata: Value = metadata.json().await.unwrap();
        assert_eq!(metadata["resource"], audience);
        assert_eq!(metadata["authorization_servers"], json!([issuer.url]));
    }
    let other = app.get("/.well-known/oauth-protected-resource/v3").await;
    assert_json_error(other, 404, "not_found").await;

    let plain = TestApp::spawn(&issuer).await;
    let challenge = answer(plain.get("/api/private").await).await.challenge.unwrap();
    assert!(
        challenge.ends_with(&format!("resource_metadata=\"{}\"", plain.url("/.well-known/oauth-protected-resource")))
    );
    assert_eq!(AUDIENCE, "https://api.example.com", "the default audience has no path");
}

#[tokio::test]
async fn the_token_endpoint_answers_every_refused_body_with_its_documented_status() {
    let running = Running::start(&[("PORT", "0")]);
    let url = format!("http://{}/dev/token", running.address);
    let client = reqwest::Client::new();
    let post = |content_type: Option<&str>, body: Vec<u8>| {
        let mut request = client.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let json = Some("application/json");
    let form = Some("application/x-www-form-urlencoded");
    assert_json_error(post(None, b"scope=x".to_vec()).await.unwrap(), 415, "unsupported_media_type").await;
    assert_json_error(post(Some("text/plain"), b"x".to_vec()).await.unwrap(), 415, "unsupported_media_type").await;
    for (content_type, body) in [
        (json, &b"\x00"[..]),
        (json, b"[]"),
        (json, br#"{"expires_in": null}"#),
        (json, br#"{"expires_in": "60"}"#),
        (json, br#"{"expires_in": 0}"#),
        (form, b"expires_in=86401"),
        (form, b"expires_in=soon"),
        (form, b"scope=a&scope=b"),
    ] {
        let response = post(content_type, body.to_vec()).await.unwrap();
        assert_json_error(response, 400, "invalid_request").await;
    }
    let long_sub = format!("sub={}", "s".repeat(256));
    assert!(
        assert_json_error(post(form, long_sub.into_bytes()).await.unwrap(), 400, "invalid_request")
            .await
            .contains("sub is longer than 255 characters")
    );
    let longest = json!({"scope": "\u{1F600}".repeat(1024), "sub": "\u{1F600}".repeat(255)}).to_string();
    assert_eq!(post(json, longest.into_bytes()).await.unwrap().status(), 200, "the longest body is accepted");

    let escaped_scope: String = "%F0%9F%98%80".repeat(1024);
    let escaped_sub: String = "%F0%9F%98%80".repeat(255);
    let escaped = format!("scope={escaped_scope}&sub={escaped_sub}");
    assert!(escaped.len() < 16_384, "the longest form, fully escaped, fits the default limit: {}", escaped.len());
    assert_eq!(post(form, escaped.into_bytes()).await.unwrap().status(), 200);

    // Without a Content-Length the limit is found while reading: one byte more than the default.
    let mut stream = std::net::TcpStream::connect(&running.address).unwrap();
    let head =
        "POST /dev/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = format!("1000\r\n{}\r\n", "x".repeat(4096));
    for _ in 0..4 {
        stream.write_all(chunk.as_bytes()).unwrap();
    }
    stream.write_all(b"1\r\nx\r\n").unwrap();
    let mut response = vec![0; 4096];
    let read = stream.read(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response[..read]).into_owned();
    assert!(response.starts_with("HTTP/1.1 413 "), "{response}");
    assert!(response.contains(r#""error":"content_too_large""#), "{response}");
}
