//! Every way a token can be refused, each with its status, challenge and description.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{SigningKey, TestApp, TestIssuer, answer, unix_now};

async fn refused(app: &TestApp, token: &str) -> crate::helpers::Answer {
    let got = answer(app.get_with_token("/api/private", token).await).await;
    let description = got.body["error_description"].as_str().unwrap_or_default();
    assert!(!description.contains(token), "the description must not echo the token");
    got
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let expired = issuer.token_with(json!({"exp": 1_795_687_200, "iat": 1_795_683_600}));
    refused(&app, &expired).await.assert_invalid_token("the token expired at 2026-11-26T10:00:00Z");

    let early = issuer.token_with(json!({"nbf": unix_now() + 600}));
    refused(&app, &early).await.assert_invalid_token("the token is not valid before");

    let issued_ahead = issuer.token_with(json!({"iat": unix_now() + 600}));
    refused(&app, &issued_ahead).await.assert_invalid_token("the token was issued in the future");

    let within_leeway = issuer.token_with(json!({"exp": unix_now() - 2, "nbf": unix_now() + 2, "iat": unix_now() + 2}));
    assert_eq!(app.get_with_token("/api/private", &within_leeway).await.status(), 200);
}

#[tokio::test]
async fn audience_must_contain_this_api() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let other = issuer.token_with(json!({"aud": "https://other.example.com"}));
    refused(&app, &other).await.assert_invalid_token("audience mismatch: expected https://api.example.com");

    let missing = issuer.token_with(json!({"aud": null}));
    refused(&app, &missing).await.assert_invalid_token("the token has no aud claim");

    let array = issuer.token_with(json!({"aud": ["https://tenant.example/userinfo", "https://api.example.com"]}));
    assert_eq!(app.get_with_token("/api/private", &array).await.status(), 200);
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let without_slash = issuer.token_with(json!({"iss": issuer.url.trim_end_matches('/')}));
    refused(&app, &without_slash).await.assert_invalid_token(&format!("issuer mismatch: expected {}", issuer.url));
    let missing = issuer.token_with(json!({"iss": null}));
    refused(&app, &missing).await.assert_invalid_token("the token has no iss claim");
    let no_exp = issuer.token_with(json!({"exp": null}));
    refused(&app, &no_exp).await.assert_invalid_token("the token has no exp claim");
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let forged = SigningKey::fixture("attacker").with_kid("primary").sign(&issuer.claims());
    refused(&app, &forged).await.assert_invalid_token("the token's signature does not verify");

    let mut parts: Vec<String> = issuer.token().split('.').map(str::to_owned).collect();
    let claims = crate::helpers::with_changes(issuer.claims(), json!({"sub": "auth0|someone-else"}));
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    refused(&app, &parts.join(".")).await.assert_invalid_token("the token's signature does not verify");
}

#[tokio::test]
async fn alg_none_and_symmetric_algorithms_are_refused_before_any_key_fetch() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("jwks.ttl", "1h"))).await;
    app.wait_until_ready().await;
    let fetches = issuer.jwks_fetches();

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"primary"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&issuer.claims()).unwrap());
    let unsigned = format!("{header}.{payload}.");
    refused(&app, &unsigned).await.assert_invalid_token("the token's algorithm none is not accepted (accepted: RS256)");

    let public_pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/primary.pub.pem")).unwrap();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("primary".into());
    let confused = jsonwebtoken::encode(&hs256, &issuer.claims(), &EncodingKey::from_secret(&public_pem)).unwrap();
    refused(&app, &confused).await.assert_invalid_token("the token's algorithm HS256 is not accepted");

    let mut ps256 = Header::new(Algorithm::PS256);
    ps256.kid = Some("primary".into());
    let not_listed = jsonwebtoken::encode(&ps256, &issuer.claims(), &issuer.primary.encoding_key()).unwrap();
    refused(&app, &not_listed).await.assert_invalid_token("the token's algorithm PS256 is not accepted");

    assert_eq!(issuer.jwks_fetches(), fetches, "refused algorithms must not reach the identity provider");
}

#[tokio::test]
async fn malformed_opaque_encrypted_and_oversized_tokens() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let opaque = "8TlaJ2vIZk3QhR1c0ZbT6A_not_a_jwt";
    refused(&app, opaque).await.assert_invalid_token("the token is not a signed JWT (it looks opaque or encrypted)");
    let encrypted = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.d29ybGQ.dGFn";
    let refused_jwe = refused(&app, encrypted).await;
    refused_jwe.assert_invalid_token("the token is encrypted (JWE) and this API has no key to decrypt it");
    refused_jwe.assert_invalid_token("request it with the audience parameter of this API");
    refused(&app, "abc.def.ghi").await.assert_invalid_token("the token is malformed");

    let huge = issuer.token_with(json!({"padding": "x".repeat(20_000)}));
    refused(&app, &huge).await.assert_invalid_token("the token is longer than 16384 bytes");

    let bad_claims = issuer.token_with(json!({"exp": "tomorrow"}));
    refused(&app, &bad_claims).await.assert_invalid_token("the token is malformed: the claims are not valid");
}

#[tokio::test]
async fn header_and_claims_are_json_objects_with_unique_names_even_when_signed() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let claims = issuer.claims().to_string();
    let key = &issuer.primary;
    assert_eq!(
        app.get_with_token("/api/private", &key.sign_raw(r#"{"alg":"RS256","kid":"primary"}"#, &claims)).await.status(),
        200
    );

    let array_header = key.sign_raw(r#"["RS256","primary"]"#, &claims);
    refused(&app, &array_header)
        .await
        .assert_invalid_token("the header is not valid: invalid type: sequence, expected a JSON object");
    let twice = key.sign_raw(r#"{"alg":"RS256","kid":"primary","kid":"other"}"#, &claims);
    refused(&app, &twice)
        .await
        .assert_invalid_token("the header is not valid: the member `kid` appears more than once");
    let typed = key.sign_raw(r#"{"alg":"RS256","kid":"primary","x5c":"not-an-array"}"#, &claims);
    refused(&app, &typed).await.assert_invalid_token("the header is not valid: invalid type: string");

    let claims_array = key.sign_raw(r#"{"alg":"RS256","kid":"primary"}"#, &format!("[{claims}]"));
    refused(&app, &claims_array)
        .await
        .assert_invalid_token("the claims are not valid: invalid type: sequence, expected a JSON object");
    let duplicate_sub = claims.replacen('{', r#"{"sub":"auth0|admin","#, 1);
    let duplicate_sub = key.sign_raw(r#"{"alg":"RS256","kid":"primary"}"#, &duplicate_sub);
    refused(&app, &duplicate_sub)
        .await
        .assert_invalid_token("the claims are not valid: the member `sub` appears more than once");
    let float_exp = claims.replacen('{', r#"{"nbf":1.5e9,"#, 1);
    let float_exp = key.sign_raw(r#"{"alg":"RS256","kid":"primary"}"#, &float_exp);
    refused(&app, &float_exp).await.assert_invalid_token("expected whole seconds since the Unix epoch");
}

#[tokio::test]
async fn crit_headers_are_refused_and_key_urls_in_headers_are_ignored() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    let sign_raw = |header: &str| {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&issuer.claims()).unwrap())
        );
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &issuer.primary.encoding_key(), Algorithm::RS256)
                .unwrap();
        format!("{signing_input}.{signature}")
    };
    let sign_with_header = |extra: serde_json::Value| {
        let mut header = json!({"alg": "RS256", "typ": "JWT", "kid": "primary"});
        header.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        sign_raw(&header.to_string())
    };
    let escaped_kid = sign_raw(r#"{"alg":"RS256","kid":"\u0070rimary"}"#);
    assert_eq!(app.get_with_token("/api/private", &escaped_kid).await.status(), 200, "JSON escapes in the header");
    let crit = sign_with_header(json!({"crit": ["exp"], "exp": 1}));
    refused(&app, &crit).await.assert_invalid_token("crit header");

    let attacker = SigningKey::fixture("attacker").with_kid("attacker");
    let jku = sign_with_header(json!({"jku": "http://127.0.0.1:9/jwks.json", "jwk": attacker.jwk()}));
    assert_eq!(app.get_with_token("/api/private", &jku).await.status(), 200, "signed by the issuer's key: accepted");
    let forged = attacker.sign(&issuer.claims());
    refused(&app, &forged).await.assert_invalid_token("signing key kid=attacker is not in the issuer's key set");
}

#[tokio::test]
async fn a_token_without_kid_is_accepted_only_when_one_key_fits() {
    let issuer = TestIssuer::start().await;
    let app =
        TestApp::spawn_with(&issuer, |f| f.merge(("jwks.cooldown", "0s")).merge(("token_cache.enabled", false))).await;
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &issuer.claims(), &issuer.primary.encoding_key()).unwrap();
    assert_eq!(app.get_with_token("/api/private", &no_kid).await.status(), 200);

    issuer.publish(&[issuer.primary.clone(), SigningKey::fixture("rotated")]);
    let rotated_token = SigningKey::fixture("rotated").sign(&issuer.claims());
    assert_eq!(app.get_with_token("/api/private", &rotated_token).await.status(), 200);
    refused(&app, &no_kid).await.assert_invalid_token("the token has no kid and the issuer's key set has 2 keys");
}

#[tokio::test]
async fn a_cached_token_is_checked_for_expiry_on_every_use() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| f.merge(("auth0.leeway", "0s"))).await;
    // Times by the service's clock, which stands still: with no leeway, an iat read from the wall
    // clock a second boundary later would be in the service's future.
    let now = jwt_resource_server::Clock::now(&clock).unix_seconds();
    let short = issuer.token_with(json!({"iat": now, "exp": now + 2}));
    assert_eq!(app.get_with_token("/api/private", &short).await.status(), 200);
    assert_eq!(app.get_with_token("/api/private", &short).await.status(), 200, "served from the cache");
    clock.advance(std::time::Duration::from_millis(2100));
    refused(&app, &short).await.assert_invalid_token("the token expired at");
}

#[tokio::test]
async fn cached_tokens_of_a_removed_key_are_dropped_at_the_next_refresh() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| f.merge(("jwks.ttl", "200ms"))).await;
    let token = issuer.token();
    assert_eq!(app.get_with_token("/api/private", &token).await.status(), 200);
    issuer.publish(&[SigningKey::fixture("rotated")]);
    clock.advance(std::time::Duration::from_millis(250));
    // A token that is not cached needs the key set, finds it due, and refreshes it in the background.
    let uncached = issuer.token_with(json!({"sub": "auth0|another-user"}));
    app.get_with_token("/api/private", &uncached).await;
    let mut status = 200;
    for _ in 0..50 {
        status = app.get_with_token("/api/private", &token).await.status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, 401, "the cached verification ended with its key");
}

#[tokio::test]
async fn the_rfc_9068_profile_takes_only_access_tokens() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.token_profile", "rfc9068"))).await;
    let key = &issuer.primary;
    let header = |typ: &str| match typ {
        "" => json!({"alg": "RS256", "kid": key.kid}).to_string(),
        typ => json!({"alg": "RS256", "kid": key.kid, "typ": typ}).to_string(),
    };
    let access = crate::helpers::with_changes(issuer.claims(), json!({"client_id": "test-client", "jti": "jti-1"}));
    let sign = |typ: &str, claims: &serde_json::Value| key.sign_raw(&header(typ), &claims.to_string());

    for typ in ["at+jwt", "application/AT+JWT"] {
        let response = app.get_with_token("/api/private", &sign(typ, &access)).await;
        assert_eq!(response.status(), 200, "{typ}");
    }
    refused(&app, &sign("JWT", &access)).await.assert_invalid_token("the token's typ is JWT, not at+jwt");
    refused(&app, &sign("", &access)).await.assert_invalid_token("the token has no typ header");
    for claim in ["jti", "client_id", "sub", "iat"] {
        let partial = crate::helpers::with_changes(access.clone(), json!({ claim: null }));
        refused(&app, &sign("at+jwt", &partial)).await.assert_invalid_token(&format!("the token has no {claim} claim"));
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("auth_rejections_total{reason=\"wrong_type\"} 2"), "{metrics}");

    let default = TestApp::spawn(&issuer).await;
    assert_eq!(default.get_with_token("/api/private", &issuer.token()).await.status(), 200, "typ JWT, no jti");
    assert_eq!(default.get_with_token("/api/private", &sign("at+jwt", &access)).await.status(), 200);
}
