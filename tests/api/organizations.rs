//! Auth0 Organizations at `GET /api/orgs/{org_id}/messages`: the token's `org_id` must be the
//! path's, of an organization `auth0.organizations` lists when it lists any, with the listed
//! `org_name` (ignoring case); refusals are 403 with their own codes, in the challenge of the
//! scheme the token came with.

use figment::providers::Serialized;
use serde_json::json;

use crate::helpers::{DpopClient, TestApp, TestIssuer, answer};

const ACME: &str = "/api/orgs/org_acme/messages";

#[tokio::test]
async fn only_a_token_of_the_organization_in_the_path_is_accepted() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let acme = issuer.token_with(json!({"org_id": "org_acme", "org_name": "acme"}));

    let granted = answer(app.get_with_token(ACME, &acme).await).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["message"], "Access granted: messages of org_acme");
    assert_eq!(granted.body["data"]["org_id"], "org_acme");

    let other = answer(app.get_with_token("/api/orgs/org_globex/messages", &acme).await).await;
    other.assert_status_and_code(403, "organization_mismatch");
    assert_eq!(other.body["error_description"], "the token was issued for the organization org_acme, not org_globex");
    assert_eq!(
        other.challenge.as_deref(),
        Some(
            r#"Bearer realm="protected-api", error="organization_mismatch", error_description="the token was issued for the organization org_acme, not org_globex""#
        )
    );

    let outside = answer(app.get_with_token(ACME, &issuer.token()).await).await;
    outside.assert_status_and_code(403, "organization_required");
    assert!(outside.body["error_description"].as_str().unwrap().contains("no org_id claim"));
    // The other routes do not care.
    assert_eq!(app.get_with_token("/api/private", &acme).await.status(), 200);
}

#[tokio::test]
async fn the_listed_organizations_bound_the_tokens_and_their_names() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |figment| {
        figment.merge(Serialized::default(
            "auth0.organizations",
            json!(["org_acme", {"id": "org_initech", "name": "initech"}]),
        ))
    })
    .await;
    let token = |org_id: &str, org_name: Option<&str>| {
        let mut claims = json!({"org_id": org_id});
        if let Some(name) = org_name {
            claims["org_name"] = json!(name);
        }
        issuer.token_with(claims)
    };
    let get = |org_id: &str, token: String| {
        let path = format!("/api/orgs/{org_id}/messages");
        let app = &app;
        async move { answer(app.get_with_token(&path, &token).await).await }
    };
    assert_eq!(get("org_acme", token("org_acme", Some("any name"))).await.status, 200, "a listed id without a name");
    assert_eq!(get("org_initech", token("org_initech", Some("InItEcH"))).await.status, 200, "names ignore case");
    assert_eq!(get("org_initech", token("org_initech", None)).await.status, 200, "no org_name: the id decides");

    let renamed = get("org_initech", token("org_initech", Some("globex"))).await;
    renamed.assert_status_and_code(403, "organization_mismatch");
    assert_eq!(
        renamed.body["error_description"],
        "the token's org_name globex is not the name of the organization org_initech"
    );

    let unlisted = get("org_globex", token("org_globex", None)).await;
    unlisted.assert_status_and_code(403, "organization_mismatch");
    assert_eq!(unlisted.body["error_description"], "the token's organization org_globex is not one this API serves");
}

#[tokio::test]
async fn a_dpop_bound_token_of_another_organization_is_refused_in_the_dpop_challenge() {
    let client = DpopClient::new();
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |figment| figment.merge(Serialized::default("dpop.mode", "allowed"))).await;
    let token = issuer.token_with(json!({"org_id": "org_acme", "cnf": {"jkt": client.jkt}}));
    let path = "/api/orgs/org_globex/messages";
    let proof = client.proof("GET", &app.url(path), &token);
    let refused = answer(app.get_with_proof(path, &token, &proof).await).await;
    refused.assert_status_and_code(403, "organization_mismatch");
    let dpop = refused.challenges.iter().find(|line| line.starts_with("DPoP ")).expect("a DPoP challenge");
    assert!(dpop.starts_with(r#"DPoP realm="protected-api", error="organization_mismatch""#), "{dpop}");
    assert!(
        refused.challenges.iter().any(|line| line == r#"Bearer realm="protected-api""#),
        "{:?}",
        refused.challenges
    );
    let proof = client.proof("GET", &app.url(ACME), &token);
    assert_eq!(app.get_with_proof(ACME, &token, &proof).await.status(), 200);
}

#[tokio::test]
async fn the_development_issuer_issues_tokens_for_an_organization() {
    let app = TestApp::spawn_dev().await;
    let minted: serde_json::Value = app
        .client
        .post(app.url("/dev/token"))
        .json(&json!({"org_id": "org_acme", "org_name": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["access_token"].as_str().unwrap();
    let granted = answer(app.get_with_token(ACME, token).await).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["data"]["org_name"], "acme");
    let too_long = json!({"org_id": "o".repeat(65)});
    let refused = answer(app.client.post(app.url("/dev/token")).json(&too_long).send().await.unwrap()).await;
    refused.assert_status_and_code(400, "invalid_request");
}
