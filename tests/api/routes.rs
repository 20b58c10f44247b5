//! The routes and what they answer to valid requests and missing credentials.

use serde_json::json;

use crate::helpers::{AUDIENCE, TestApp, TestIssuer, answer};

#[tokio::test]
async fn public_answers_anyone() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let response = app.get("/api/public").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"message": "Hello, World!"}));
}

#[tokio::test]
async fn private_without_credentials_gets_the_bare_challenge() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    for authorization in [None, Some("Basic dXNlcjpwYXNz")] {
        let mut request = app.client.get(app.url("/api/private"));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let got = answer(request.send().await.unwrap()).await;
        assert_eq!(got.status, 401);
        let metadata = app.url("/.well-known/oauth-protected-resource");
        assert_eq!(got.challenge, Some(format!("Bearer realm=\"protected-api\", resource_metadata=\"{metadata}\"")));
        assert_eq!(got.body["error"], "unauthorized");
    }
}

#[tokio::test]
async fn malformed_credentials_are_a_bad_request() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let empty = app.client.get(app.url("/api/private")).header("Authorization", "Bearer ").send().await.unwrap();
    let got = answer(empty).await;
    assert_eq!(got.status, 400);
    assert_eq!(got.body["error"], "invalid_request");
    assert!(got.challenge.unwrap().starts_with("Bearer realm=\"protected-api\", error=\"invalid_request\""));

    let token = issuer.token();
    let twice = app
        .client
        .get(app.url("/api/private"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let got = answer(twice).await;
    assert_eq!(got.status, 400);
    assert!(got.body["error_description"].as_str().unwrap().contains("more than one Authorization header"));
}

#[tokio::test]
async fn private_echoes_the_claims_of_a_valid_token() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let claims = crate::helpers::with_changes(issuer.claims(), json!({"https://example.com/roles": ["admin"]}));
    let token = issuer.primary.sign(&claims);
    let response = app.get_with_token("/api/private", &token).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"message": "Access granted", "data": claims}));
}

#[tokio::test]
async fn the_bearer_scheme_name_is_case_insensitive() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let response = app
        .client
        .get(app.url("/api/private"))
        .header("Authorization", format!("bearer {}", issuer.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn scoped_route_needs_read_messages_in_scope_or_permissions() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;

    let response = app.get_with_token("/api/private-scoped", &issuer.token()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Access granted: read:messages");
    assert_eq!(body["data"]["aud"], AUDIENCE);

    let rbac = issuer.token_with(json!({"scope": "openid", "permissions": ["read:messages"]}));
    assert_eq!(app.get_with_token("/api/private-scoped", &rbac).await.status(), 200);

    let without = issuer.token_with(json!({"scope": "openid read:message write:messages", "permissions": ["read"]}));
    let got = answer(app.get_with_token("/api/private-scoped", &without).await).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.body["error"], "insufficient_scope");
    assert_eq!(
        got.challenge.as_deref(),
        Some(
            "Bearer realm=\"protected-api\", error=\"insufficient_scope\", error_description=\"the token lacks the scope read:messages\", scope=\"read:messages\""
        )
    );
    assert_eq!(app.get_with_token("/api/private", &without).await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let generated = app.get("/api/private").await;
    assert_eq!(generated.status(), 401);
    assert_eq!(generated.headers()["x-request-id"].len(), 36);

    let reused = app.client.get(app.url("/api/public")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(reused.headers()["x-request-id"], "trace-42");

    let refused =
        app.client.get(app.url("/nowhere")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    assert_eq!(refused.status(), 404);
    assert_ne!(refused.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn health_and_readiness() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    assert_eq!(app.get("/healthz").await.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
    app.wait_until_ready().await;
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["key_ids"], json!(["primary"]));
    assert!(ready["key_set_age_seconds"].as_u64().unwrap() < 5);
    assert!(ready.get("last_fetch_error").is_none());
}

#[tokio::test]
async fn the_greeting_serves_strangers_and_refuses_bad_tokens_as_the_protected_routes_do() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let greeting = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().to_owned()
    };
    assert_eq!(greeting(app.get("/api/greeting").await).await, "Hello, stranger");
    assert_eq!(greeting(app.get_with_token("/api/greeting", &issuer.token()).await).await, "Hello, auth0|test-user");

    let expired = issuer.token_with(json!({"exp": 1_795_687_200, "iat": 1_795_683_600}));
    let others = issuer.token_with(json!({"aud": "https://other.example.com"}));
    for authorization in [
        format!("Bearer {expired}"),
        format!("Bearer {others}"),
        "Bearer not-a-jwt".into(),
        "Basic dXNlcjpwYXNz".into(),
        "Bearer".into(),
    ] {
        let send = |path: &str| app.client.get(app.url(path)).header("authorization", &authorization).send();
        let (greeting, private) =
            (answer(send("/api/greeting").await.unwrap()).await, answer(send("/api/private").await.unwrap()).await);
        assert!(matches!(greeting.status, 400 | 401), "{authorization}: {}", greeting.status);
        assert_eq!(
            (greeting.status, &greeting.challenge, &greeting.body),
            (private.status, &private.challenge, &private.body),
            "{authorization}: the greeting refuses as /api/private does"
        );
    }
}
