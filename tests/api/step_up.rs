//! Step-up authentication (RFC 9470) at `GET /api/private-mfa`: a multi-factor sign-in (`acr`, or
//! the claim `auth0.acr_claims` makes stand for it) at most 10 minutes old (`auth_time`, or
//! `auth0.auth_time_claim`); otherwise 401 `insufficient_user_authentication` whose challenge
//! names `acr_values` and `max_age`, in the scheme the token came with.

use std::time::Duration;

use figment::providers::Serialized;
use serde_json::json;

use jwt_resource_server::Clock;

use crate::helpers::{DpopClient, TestApp, TestIssuer, answer, unix_now};

const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const PATH: &str = "/api/private-mfa";

/// The parameters every step-up challenge ends with.
fn step_up_params() -> String {
    format!(r#"acr_values="{MFA}", max_age="600", resource_metadata=""#)
}

#[tokio::test]
async fn a_token_without_a_recent_multi_factor_sign_in_gets_the_step_up_challenge() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;

    let plain = answer(app.get_with_token(PATH, &issuer.token()).await).await;
    plain.assert_status_and_code(401, "insufficient_user_authentication");
    let description = plain.body["error_description"].as_str().unwrap();
    assert_eq!(
        description,
        format!(
            "the token names no authentication context; this operation needs {MFA}: sign in again with acr_values={MFA}"
        )
    );
    let challenge = plain.challenge.as_deref().unwrap();
    assert!(
        challenge.starts_with(
            r#"Bearer realm="protected-api", error="insufficient_user_authentication", error_description=""#
        ),
        "{challenge}"
    );
    assert!(challenge.contains(&step_up_params()), "{challenge}");

    let password = answer(app.get_with_token(PATH, &issuer.token_with(json!({"acr": "pwd"}))).await).await;
    password.assert_status_and_code(401, "insufficient_user_authentication");
    assert!(
        password.body["error_description"].as_str().unwrap().starts_with("the token's authentication context is pwd")
    );

    let now = unix_now();
    let stale = issuer.token_with(json!({"acr": MFA, "auth_time": now - 601}));
    let stale = answer(app.get_with_token(PATH, &stale).await).await;
    stale.assert_status_and_code(401, "insufficient_user_authentication");
    assert!(stale.body["error_description"].as_str().unwrap().contains("needs an authentication within 600 s"));
    assert!(stale.challenge.unwrap().contains(&step_up_params()));

    let no_time = answer(app.get_with_token(PATH, &issuer.token_with(json!({"acr": MFA}))).await).await;
    assert!(no_time.body["error_description"].as_str().unwrap().contains("no auth_time"));

    let fresh = issuer.token_with(json!({"acr": MFA, "auth_time": now - 30}));
    let granted = answer(app.get_with_token(PATH, &fresh).await).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["message"], format!("Access granted: signed in with {MFA}"));
}

#[tokio::test]
async fn a_cached_token_is_held_to_max_age_at_the_time_of_each_request() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |figment| figment).await;
    let signed_in = clock.now().unix_seconds();
    let token =
        issuer.token_with(json!({"acr": MFA, "auth_time": signed_in, "iat": signed_in, "exp": signed_in + 3600}));
    assert_eq!(app.get_with_token(PATH, &token).await.status(), 200);
    clock.advance(Duration::from_secs(600));
    assert_eq!(app.get_with_token(PATH, &token).await.status(), 200, "600 s is within max_age");
    clock.advance(Duration::from_secs(1));
    let late = answer(app.get_with_token(PATH, &token).await).await;
    late.assert_status_and_code(401, "insufficient_user_authentication");
    assert!(late.body["error_description"].as_str().unwrap().starts_with("the user authenticated 601 s ago"));
    // The token itself is still valid, and still cached.
    assert_eq!(app.get_with_token("/api/private", &token).await.status(), 200);
}

#[tokio::test]
async fn an_auth0_action_claim_stands_for_acr_and_auth_time() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |figment| {
        figment
            .merge(Serialized::default(
                "auth0.acr_claims",
                json!([{"acr": MFA, "claim": "https://example.com/mfa"}, {"acr": MFA, "claim": "amr", "value": "mfa"}]),
            ))
            .merge(Serialized::default("auth0.auth_time_claim", "https://example.com/auth_time"))
    })
    .await;
    let now = unix_now();
    let action = issuer.token_with(json!({"https://example.com/mfa": true, "https://example.com/auth_time": now}));
    assert_eq!(app.get_with_token(PATH, &action).await.status(), 200);
    let amr = issuer.token_with(json!({"amr": ["pwd", "mfa"], "https://example.com/auth_time": now}));
    assert_eq!(app.get_with_token(PATH, &amr).await.status(), 200);
    let not_mfa = issuer.token_with(json!({"https://example.com/mfa": false, "https://example.com/auth_time": now}));
    let refused = answer(app.get_with_token(PATH, &not_mfa).await).await;
    refused.assert_status_and_code(401, "insufficient_user_authentication");
    let old = issuer.token_with(json!({"https://example.com/mfa": true, "https://example.com/auth_time": now - 3000}));
    answer(app.get_with_token(PATH, &old).await).await.assert_status_and_code(401, "insufficient_user_authentication");
}

#[tokio::test]
async fn a_dpop_bound_token_gets_the_step_up_challenge_in_the_dpop_scheme() {
    let client = DpopClient::new();
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}}));
    let proof = client.proof("GET", &app.url(PATH), &token);
    let refused = answer(app.get_with_proof(PATH, &token, &proof).await).await;
    refused.assert_status_and_code(401, "insufficient_user_authentication");
    let dpop = refused.challenges.iter().find(|line| line.starts_with("DPoP ")).expect("a DPoP challenge");
    assert!(dpop.starts_with(r#"DPoP realm="protected-api", error="insufficient_user_authentication""#), "{dpop}");
    assert!(dpop.contains(&format!(r#"acr_values="{MFA}", max_age="600", algs=""#)), "{dpop}");
    let bearer = refused.challenges.iter().find(|line| line.starts_with("Bearer ")).expect("a Bearer challenge");
    assert!(!bearer.contains("error="), "{bearer}");
}

#[tokio::test]
async fn the_development_issuer_issues_tokens_of_a_multi_factor_sign_in() {
    let app = TestApp::spawn_dev().await;
    let mint = |body: serde_json::Value| {
        let app = &app;
        async move {
            let minted: serde_json::Value =
                app.client.post(app.url("/dev/token")).json(&body).send().await.unwrap().json().await.unwrap();
            minted["access_token"].as_str().unwrap().to_owned()
        }
    };
    let plain = mint(json!({})).await;
    answer(app.get_with_token(PATH, &plain).await)
        .await
        .assert_status_and_code(401, "insufficient_user_authentication");
    let mfa = mint(json!({"acr": MFA, "amr": "pwd mfa"})).await;
    let granted = answer(app.get_with_token(PATH, &mfa).await).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["data"]["amr"], json!(["pwd", "mfa"]));
    assert!(granted.body["data"]["auth_time"].as_i64().unwrap() >= unix_now() - 5, "auth_time defaults to now");
    let long_ago = mint(json!({"acr": MFA, "auth_time": unix_now() - 700})).await;
    answer(app.get_with_token(PATH, &long_ago).await)
        .await
        .assert_status_and_code(401, "insufficient_user_authentication");
    let null = app.client.post(app.url("/dev/token")).json(&json!({"auth_time": null})).send().await.unwrap();
    answer(null).await.assert_status_and_code(400, "invalid_request");
    let discovery: serde_json::Value = app.get("/dev/.well-known/openid-configuration").await.json().await.unwrap();
    assert_eq!(discovery["acr_values_supported"], json!([MFA]), "derived from the operations");
}
