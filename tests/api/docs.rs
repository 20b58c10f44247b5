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
    assert_eq!(json, serde_json::from_str::<serde_json::Value>(&protected_api::api::service().spec()).unwrap());
    let yaml = app.get("/openapi.yaml").await;
    assert!(yaml.headers()["content-type"].to_str().unwrap().contains("yaml"));
    assert!(yaml.text().await.unwrap().starts_with("openapi: 3.0.0"));
}
