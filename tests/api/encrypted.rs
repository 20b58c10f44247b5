//! Encrypted access tokens (JWE, RSA-OAEP-256 with A256GCM) with the keys of
//! `auth0.decryption_keys`: decrypted, then checked as any signed token; refused with
//! `invalid_token` when not accepted or not decryptable. JWEs here are made by the test's own
//! encrypter; those of panva's `jose` and `oidc-provider` are in `interop`.

use figment::providers::Serialized;
use serde_json::json;

use crate::helpers::{EncryptionKey, TestApp, TestIssuer, answer};

/// A service trusting `issuer` that decrypts with `keys`, newest first.
async fn with_keys(issuer: &TestIssuer, keys: &[&EncryptionKey]) -> TestApp {
    let paths: Vec<String> = keys.iter().map(|key| key.pem_path.display().to_string()).collect();
    TestApp::spawn_with(issuer, |figment| figment.merge(Serialized::default("auth0.decryption_keys", paths))).await
}

/// The count of full token checks and of verified tokens in `/metrics`.
async fn checks(app: &TestApp) -> (u64, u64) {
    let text = app.get("/metrics").await.text().await.unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics")) as u64
    };
    (value("auth_token_check_duration_seconds_count"), value("auth_verified_tokens_total"))
}

#[tokio::test]
async fn an_encrypted_token_is_decrypted_checked_and_cached() {
    let issuer = TestIssuer::start().await;
    let (newest, older, oldest) =
        (EncryptionKey::generate("2026-12"), EncryptionKey::generate("2026-06"), EncryptionKey::generate("2026-01"));
    let app = with_keys(&issuer, &[&newest, &older, &oldest]).await;
    let signed = issuer.token_with(json!({"sub": "auth0|encrypted"}));

    let jwe = older.encrypt(&signed, true);
    let granted = answer(app.get_with_token("/api/private-scoped", &jwe).await).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["data"]["sub"], "auth0|encrypted");
    let before = checks(&app).await;
    assert_eq!(app.get_with_token("/api/private", &jwe).await.status(), 200);
    let after = checks(&app).await;
    assert_eq!((after.0 - before.0, after.1 - before.1), (0, 1), "a reused JWE is answered from the token cache");

    // Without kid, the two newest keys are tried, never the third.
    assert_eq!(app.get_with_token("/api/private", &older.encrypt(&signed, false)).await.status(), 200);
    let third = answer(app.get_with_token("/api/private", &oldest.encrypt(&signed, false)).await).await;
    third.assert_invalid_token("the encrypted token cannot be decrypted with this API's keys");
    assert_eq!(app.get_with_token("/api/private", &oldest.encrypt(&signed, true)).await.status(), 200);

    // Every rule of a signed token holds inside.
    let expired = newest.encrypt(&issuer.token_with(json!({"exp": 1_000_000})), true);
    answer(app.get_with_token("/api/private", &expired).await).await.assert_invalid_token("the token expired");
    let no_scope = newest.encrypt(&issuer.token_with(json!({"scope": "openid"})), true);
    answer(app.get_with_token("/api/private-scoped", &no_scope).await)
        .await
        .assert_status_and_code(403, "insufficient_scope");
    let unsigned = format!("eyJhbGciOiJub25lIn0.{}.", signed.split('.').nth(1).unwrap());
    let unsigned = answer(app.get_with_token("/api/private", &newest.encrypt(&unsigned, true)).await).await;
    unsigned.assert_invalid_token("the token's algorithm none is not accepted");
    let nested = answer(app.get_with_token("/api/private", &newest.encrypt(&jwe, true)).await).await;
    nested.assert_invalid_token("the token is not a signed JWT");

    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"auth_rejections_total{reason="jwe_undecryptable"} 1"#), "{text}");
}

#[tokio::test]
async fn a_service_without_keys_refuses_encrypted_tokens_undecrypted() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let jwe = EncryptionKey::generate("k").encrypt(&issuer.token(), true);
    let refused = answer(app.get_with_token("/api/private", &jwe).await).await;
    refused.assert_invalid_token("the token is encrypted (JWE) and this API has no key to decrypt it");
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"auth_rejections_total{reason="jwe_not_accepted"} 1"#), "{text}");
}

#[tokio::test]
async fn a_jwe_naming_a_kid_the_service_lacks_is_refused_before_decryption() {
    let issuer = TestIssuer::start().await;
    let key = EncryptionKey::generate("current");
    let app = with_keys(&issuer, &[&key]).await;
    let stranger = EncryptionKey::generate("retired");
    let refused = answer(app.get_with_token("/api/private", &stranger.encrypt(&issuer.token(), true)).await).await;
    refused.assert_invalid_token("the token is encrypted to the key kid=retired, which this API does not have");
}
