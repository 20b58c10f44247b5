//! Swagger UI and the served spec.

use crate::helpers::{TestApp, TestIssuer};

#[tokio::test]
async fn swagger_ui_is_served_compressed_and_keeps_the_authorization() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let raw = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    for path in ["/docs", "/docs/"] {
        let response = raw.get(app.url(path)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let compressed = response.bytes().await.unwrap().len();
        assert!(compressed < 700_000, "{compressed} bytes");
    }
    let page = app.get("/docs").await.text().await.unwrap();
    assert!(page.len() > 1_000_000);
    assert!(page.contains("persistAuthorization: true"));
    assert!(page.contains("\"BearerAuth\""));
}

#[tokio::test]
async fn the_spec_is_served_as_json_and_yaml() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let json: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(json, serde_json::from_str::<serde_json::Value>(&protected_api::api::spec().spec()).unwrap());
    let yaml = app.get("/openapi.yaml").await;
    assert!(yaml.headers()["content-type"].to_str().unwrap().contains("yaml"));
    assert!(yaml.text().await.unwrap().starts_with("openapi: 3.0.0"));
}

#[tokio::test]
async fn the_pages_allow_their_own_scripts_only_and_no_framing() {
    use aws_lc_rs::digest::{SHA256, digest};
    use base64::{Engine, engine::general_purpose::STANDARD};

    let app = TestApp::spawn_dev().await;
    for path in ["/docs", "/docs/oauth-receiver.html"] {
        let response = app.get(path).await;
        let headers = response.headers().clone();
        let page = response.text().await.unwrap();
        let policy = headers["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.starts_with("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; script-src 'sha256-"));
        assert!(!policy.contains("unsafe-eval") && !policy.contains("script-src 'unsafe-inline'"), "{policy}");
        // Each inline script of the page, as served, is allowed by its hash.
        let mut rest = page.as_str();
        let mut scripts = 0;
        while let Some(start) = rest.find("<script") {
            let text_start = start + rest[start..].find('>').unwrap() + 1;
            let length = rest[text_start..].find("</script").unwrap();
            let hash = STANDARD.encode(digest(&SHA256, &rest.as_bytes()[text_start..text_start + length]));
            assert!(policy.contains(&format!("'sha256-{hash}'")), "{path}: a script not in {policy}");
            scripts += 1;
            rest = &rest[text_start + length..];
        }
        assert!(scripts >= 1, "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    let docs_policy = app.get("/docs").await.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(docs_policy.contains("connect-src 'self'"), "{docs_policy}");

    let receiver = format!("{}/docs/oauth-receiver.html", app.url(""));
    let sign_in = app
        .client
        .get(app.url("/dev/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "protected-api-docs"),
            ("redirect_uri", receiver.as_str()),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), 200);
    let policy = sign_in.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains(&format!("form-action 'self' {}", app.url("").trim_end_matches('/'))), "{policy}");
    assert!(!policy.contains("script-src"), "the sign-in page runs no script: {policy}");
    assert_eq!(sign_in.headers()["x-frame-options"], "DENY");
}
