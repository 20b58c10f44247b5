//! What operators and browsers get: Prometheus metrics, RFC 9728 resource metadata, CORS.

use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, TestApp, TestIssuer};

/// The value of the sample `name{labels}` in a Prometheus text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_rejections_by_reason_verified_tokens_and_key_fetches() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));

    app.get("/api/public").await;
    app.get("/api/private").await;
    app.get_with_token("/api/private", &issuer.token()).await;
    app.get_with_token("/api/private", &issuer.token()).await;
    app.get_with_token("/api/private", &issuer.token_with(json!({"aud": "https://other.example.com"}))).await;
    app.get_with_token("/api/private", &issuer.token_with(json!({"exp": 1_000_000}))).await;
    app.get_with_token("/api/private-scoped", &issuer.token_with(json!({"scope": "openid"}))).await;
    app.get("/no/such/route").await;

    let text = app.get("/metrics").await.text().await.unwrap();
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(count(r#"http_requests_total{route="/api/public",status="200"}"#), 1.0);
    assert_eq!(count(r#"http_requests_total{route="/api/private",status="200"}"#), 2.0);
    assert_eq!(count(r#"http_requests_total{route="/api/private",status="401"}"#), 3.0);
    assert_eq!(count(r#"http_requests_total{route="/api/private-scoped",status="403"}"#), 1.0);
    assert_eq!(count(r#"http_requests_total{route="unmatched",status="404"}"#), 1.0);
    assert_eq!(count(r#"http_request_duration_seconds_count{route="/api/private"}"#), 5.0);
    assert_eq!(count(r#"auth_rejections_total{reason="missing_token"}"#), 1.0);
    assert_eq!(count(r#"auth_rejections_total{reason="bad_audience"}"#), 1.0);
    assert_eq!(count(r#"auth_rejections_total{reason="expired"}"#), 1.0);
    assert_eq!(count(r#"auth_rejections_total{reason="insufficient_scope"}"#), 1.0);
    assert_eq!(count("auth_verified_tokens_total"), 3.0);
    assert_eq!(count("auth_token_check_duration_seconds_count"), 2.0, "the reused token was checked in full once");
    assert!(count("auth_token_check_duration_seconds_sum") > 0.0);
    assert_eq!(count(&format!(r#"jwks_fetches_total{{outcome="success",issuer="{}"}}"#, issuer.url)), 1.0);
    assert_eq!(count("auth_token_cache_entries"), 2.0, "two distinct valid tokens (one lacks the scope)");
    let age = count(&format!(r#"jwks_key_set_age_seconds{{issuer="{}"}}"#, issuer.url));
    assert!((0.0..5.0).contains(&age), "{age}");
}

#[tokio::test]
async fn metrics_can_move_to_their_own_listener_or_be_switched_off() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("metrics.enabled", false))).await;
    assert_eq!(app.get("/metrics").await.status(), 404);

    let app = TestApp::spawn_with(&issuer, |f| f.merge(("metrics.address", "127.0.0.1:0"))).await;
    assert_eq!(app.get("/metrics").await.status(), 404, "not on the API's listener");
    let metrics_address = app.metrics_address.expect("a metrics listener");
    app.get("/api/public").await;
    let text = app.client.get(format!("http://{metrics_address}/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(sample(&text, r#"http_requests_total{route="/api/public",status="200"}"#), Some(1.0), "{text}");
}

#[tokio::test]
async fn protected_resource_metadata_names_the_issuer_and_scopes() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let metadata: Value = app.get("/.well-known/oauth-protected-resource").await.json().await.unwrap();
    assert_eq!(
        metadata,
        json!({
            "resource": AUDIENCE,
            "authorization_servers": [issuer.url],
            "scopes_supported": ["read:messages"],
            "bearer_methods_supported": ["header"],
            "resource_name": "protected-api",
            "dpop_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA", "Ed25519"],
            "dpop_bound_access_tokens_required": false,
        })
    );

    let behind_proxy =
        TestApp::spawn_with(&issuer, |f| f.merge(("server.public_url", "https://api.example.com/"))).await;
    let challenge = behind_proxy.get("/api/private").await.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.ends_with(r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#));
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let issuer = TestIssuer::start().await;
    let preflight = |app: &TestApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/private"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };

    let closed = TestApp::spawn(&issuer).await;
    let response = preflight(&closed, "https://app.example.com").await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
    let simple = closed.client.get(closed.url("/api/public")).header("origin", "https://app.example.com").send().await;
    assert!(simple.unwrap().headers().get("access-control-allow-origin").is_none());

    let open = TestApp::spawn_with(&issuer, |f| f.merge(("cors.allowed_origins", ["https://app.example.com"]))).await;
    let response = preflight(&open, "https://app.example.com").await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(response.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));

    let call = open
        .client
        .get(open.url("/api/private"))
        .header("origin", "https://app.example.com")
        .bearer_auth(issuer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    assert_eq!(call.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(call.headers()["access-control-expose-headers"].to_str().unwrap().contains("www-authenticate"));

    assert_eq!(call.headers()["vary"], "Origin", "the answer depends on the origin");

    // Another origin's preflight is refused: a browser stops there.
    let stranger = preflight(&open, "https://evil.example.com").await.unwrap();
    assert_eq!(stranger.status(), 403);
    assert!(stranger.headers().get("access-control-allow-origin").is_none(), "never reflects other origins");
    assert_eq!(stranger.headers()["content-type"], "application/json; charset=utf-8", "CORS refusals are JSON too");
    let body: Value = stranger.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("cors.allowed_origins"), "{body}");
    let wrong_method = open
        .client
        .request(reqwest::Method::OPTIONS, open.url("/api/private"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 403);
    // Its other requests, and those of clients that are not browsers, are answered as without
    // CORS: the browser enforces CORS, on the headers it does not get.
    for path in ["/healthz", "/api/public"] {
        let stranger_call =
            open.client.get(open.url(path)).header("origin", "https://evil.example.com").send().await.unwrap();
        assert_eq!(stranger_call.status(), 200, "{path}");
        assert!(stranger_call.headers().get("access-control-allow-origin").is_none());
        assert_eq!(stranger_call.headers()["vary"], "Origin");
    }
    let without_origin = open.client.get(open.url("/api/public")).send().await.unwrap();
    assert_eq!(without_origin.headers()["vary"], "Origin", "a cache keeps it apart from a browser's answer");
    let token_call = open
        .client
        .get(open.url("/api/private"))
        .header("origin", "https://evil.example.com")
        .bearer_auth(issuer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(token_call.status(), 200);
    assert!(token_call.headers().get("access-control-allow-origin").is_none());
}
