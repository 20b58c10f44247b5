//! Logging in from Swagger UI: the development issuer's authorization code flow with PKCE and
//! its RFC 6749 / RFC 7636 answers to bad input, and the served spec and page with the login,
//! for the development issuer and for a configured issuer found by discovery. The whole flow in
//! a browser is in `browser.rs`.

use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use figment::providers::Serialized;
use serde_json::Value;

use crate::helpers::{TestApp, TestIssuer};

const CLIENT: &str = "protected-api-docs";
const VERIFIER: &str = "a-code-verifier-of-forty-three-characters-or-more-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A valid authorization request of Swagger UI at `app`, with `changes` (an empty value removes
/// the parameter).
fn authorization(app: &TestApp, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params = vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT.to_owned()),
        ("redirect_uri", app.url("/docs/oauth-receiver.html")),
        ("scope", "read:messages".to_owned()),
        ("state", "st4te".to_owned()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".to_owned()),
    ];
    for (name, value) in changes {
        params.retain(|(known, _)| known != name);
        if !value.is_empty() {
            params.push((name, (*value).to_owned()));
        }
    }
    params.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// Signs in as `sub` with every requested scope: the code from the redirect.
async fn sign_in(app: &TestApp, sub: &str) -> String {
    let mut form = authorization(app, &[]);
    form.push(("sub".into(), sub.into()));
    form.push(("granted".into(), "read:messages".into()));
    let response = no_redirects().post(app.url("/dev/authorize")).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next().unwrap(), app.url("/docs/oauth-receiver.html"));
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "st4te");
    query["code"].clone()
}

async fn exchange(app: &TestApp, changes: &[(&str, &str)]) -> (u16, Value) {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", CLIENT.into()),
        ("redirect_uri", app.url("/docs/oauth-receiver.html")),
        ("code_verifier", VERIFIER.into()),
    ];
    for (name, value) in changes {
        form.retain(|(known, _)| known != name);
        form.push((name, (*value).to_owned()));
    }
    let response = reqwest::Client::new().post(app.url("/dev/oauth/token")).form(&form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_development_issuer_signs_in_with_pkce_and_a_code_works_once() {
    let app = TestApp::spawn_dev().await;
    let page = reqwest::Client::new().get(app.url("/dev/authorize")).query(&authorization(&app, &[])).send().await;
    let page = page.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="sub" value="dev-user""#) && html.contains(r#"value="read:messages" checked"#));

    let code = sign_in(&app, "alice").await;
    let (status, token) = exchange(&app, &[("code", &code)]).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read:messages");
    let access_token = token["access_token"].as_str().unwrap();
    let response = app.get_with_token("/api/private-scoped", access_token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["data"]["sub"], "alice");

    let (status, reused) = exchange(&app, &[("code", &code)]).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")), "a code works once");
    let discovery: Value = app.get("/dev/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(discovery["authorization_endpoint"], app.url("/dev/authorize"));
    assert_eq!(discovery["token_endpoint"], app.url("/dev/oauth/token"));
    assert_eq!(discovery["code_challenge_methods_supported"], serde_json::json!(["S256"]));
}

#[tokio::test]
async fn a_bad_client_or_redirect_uri_is_answered_here_and_never_redirected_to() {
    let app = TestApp::spawn_dev().await;
    for (changes, code, description) in [
        (vec![("client_id", "someone-else")], "invalid_client", "unknown client_id"),
        (vec![("client_id", "")], "invalid_request", "client_id is missing"),
        (vec![("redirect_uri", "https://evil.example.com/cb")], "invalid_request", "redirect_uri must be exactly"),
        (vec![("redirect_uri", "")], "invalid_request", "redirect_uri must be exactly"),
    ] {
        let query = authorization(&app, &changes);
        let response = no_redirects().get(app.url("/dev/authorize")).query(&query).send().await.unwrap();
        assert_eq!(response.status(), 400, "{changes:?}");
        assert!(response.headers().get("location").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], code, "{changes:?}");
        assert!(body["error_description"].as_str().unwrap().contains(description), "{body}");
        let mut form = query.clone();
        form.push(("sub".into(), "mallory".into()));
        let submitted = no_redirects().post(app.url("/dev/authorize")).form(&form).send().await.unwrap();
        assert_eq!(submitted.status(), 400, "the sign-in form is checked again: {changes:?}");
    }
}

#[tokio::test]
async fn a_bad_pkce_challenge_or_response_type_is_redirected_back_with_its_error() {
    let app = TestApp::spawn_dev().await;
    for (changes, code, description) in [
        (vec![("code_challenge", "")], "invalid_request", "code_challenge is missing"),
        (vec![("code_challenge_method", "plain")], "invalid_request", "S256 (plain is not accepted)"),
        (vec![("code_challenge_method", "")], "invalid_request", "S256"),
        (vec![("code_challenge", "too-short")], "invalid_request", "base64url SHA-256"),
        (vec![("response_type", "token")], "unsupported_response_type", "response_type must be code"),
    ] {
        let query = authorization(&app, &changes);
        let response = no_redirects().get(app.url("/dev/authorize")).query(&query).send().await.unwrap();
        assert_eq!(response.status(), 302, "{changes:?}");
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(query["error"], code, "{changes:?}");
        assert!(query["error_description"].contains(description), "{query:?}");
        assert_eq!(query["state"], "st4te");
        assert!(!query.contains_key("code"));
    }
}

#[tokio::test]
async fn a_code_needs_its_verifier_client_and_redirect_uri() {
    let app = TestApp::spawn_dev().await;
    let code = sign_in(&app, "alice").await;
    let (status, body) = exchange(&app, &[("code", &code), ("code_verifier", &"x".repeat(43))]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["error_description"].as_str().unwrap().contains("does not match the code_challenge"));
    let (status, body) = exchange(&app, &[("code", &code)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a wrong verifier spends the code");

    let code = sign_in(&app, "alice").await;
    let (status, body) = exchange(&app, &[("code", &code), ("client_id", "someone-else")]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = exchange(&app, &[("code", &code), ("redirect_uri", "https://evil.example.com/cb")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["error_description"].as_str().unwrap().contains("another client or redirect_uri"));

    let (status, body) = exchange(&app, &[("code", "never-issued")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = exchange(&app, &[("grant_type", "password")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    let (status, body) = exchange(&app, &[("code", "x"), ("code_verifier", "")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn the_docs_offer_the_development_issuers_login() {
    let app = TestApp::spawn_dev().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], app.url("/dev/authorize"));
    assert_eq!(flow["tokenUrl"], app.url("/dev/oauth/token"));
    let security = &spec["paths"]["/api/private-scoped"]["get"]["security"];
    assert_eq!(security[1], serde_json::json!({"OAuth2": ["read:messages"]}));
    assert_eq!(spec["paths"]["/api/private"]["get"]["security"][1], serde_json::json!({"OAuth2": []}));
    let page = app.get("/docs").await.text().await.unwrap();
    assert!(page.contains(r#""clientId":"protected-api-docs","usePkceWithAuthorizationCodeGrant":true"#));
    assert!(page.contains(
        r#""additionalQueryStringParams":{"audience":"https://api.example.com","resource":"https://api.example.com"}"#
    ));
    assert!(page.contains("persistAuthorization: true"));
    let receiver = app.get("/docs/oauth-receiver.html").await;
    assert_eq!(receiver.status(), 200);
    assert!(receiver.text().await.unwrap().contains("Swagger UI: OAuth2 Redirect"));

    let committed: Value = serde_json::from_str(&protected_api::api::spec().spec()).unwrap();
    assert!(committed["components"]["securitySchemes"].get("OAuth2").is_none(), "openapi/ stays tenant-neutral");
}

#[tokio::test]
async fn a_configured_issuer_serves_the_login_once_discovery_finds_its_endpoints() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |figment| {
        figment
            .merge(Serialized::default("docs.client_id", "spa-client"))
            .merge(Serialized::default("docs.persist_authorization", false))
    })
    .await;
    let mut spec = Value::Null;
    for _ in 0..100 {
        spec = app.get("/openapi.json").await.json().await.unwrap();
        if spec["components"]["securitySchemes"].get("OAuth2").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"];
    let base = issuer.url.trim_end_matches('/');
    assert_eq!(flow["authorizationUrl"], format!("{base}/authorize"), "{spec}");
    assert_eq!(flow["tokenUrl"], format!("{base}/oauth/token"));
    let page = app.get("/docs").await.text().await.unwrap();
    assert!(page.contains(r#""clientId":"spa-client""#));
    assert!(!page.contains("persistAuthorization: true"), "docs.persist_authorization = false");

    let without = TestApp::spawn(&issuer).await;
    let spec: Value = without.get("/openapi.json").await.json().await.unwrap();
    assert!(spec["components"]["securitySchemes"].get("OAuth2").is_none(), "no docs.client_id, no login");
    assert!(!without.get("/docs").await.text().await.unwrap().contains("ui.initOAuth("));
}

#[tokio::test]
async fn with_several_issuers_the_chosen_one_serves_the_login() {
    let (first, second) = (TestIssuer::start().await, TestIssuer::start().await);
    let issuers = vec![first.url.clone(), second.url.clone()];
    let app = TestApp::spawn_with(&first, |figment| {
        figment
            .merge(Serialized::default("auth0.issuer", ""))
            .merge(Serialized::default("auth0.issuers", &issuers))
            .merge(Serialized::default("docs.client_id", "spa-client"))
            .merge(Serialized::default("docs.login_issuer", &second.url))
    })
    .await;
    let expected = format!("{}/authorize", second.url.trim_end_matches('/'));
    let mut found = Value::Null;
    for _ in 0..100 {
        let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
        found =
            spec["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"]["authorizationUrl"].clone();
        if !found.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found, expected.as_str());
}
