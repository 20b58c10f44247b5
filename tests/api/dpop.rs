//! DPoP (RFC 9449) at the protected operations: every rule of the proof check, the schemes each
//! `dpop.mode` accepts, the bearer downgrade, replay, and the development issuer's bound tokens.

use figment::providers::Serialized;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::helpers::{Answer, DpopClient, SigningKey, TestApp, TestIssuer, answer, unix_now, with_changes};

/// A service trusting a fresh test issuer, and a DPoP-bound token for `client`'s key.
async fn setup(client: &DpopClient) -> (TestIssuer, TestApp, String) {
    setup_with(client, |figment| figment).await
}

async fn setup_with(
    client: &DpopClient,
    adjust: impl FnOnce(figment::Figment) -> figment::Figment,
) -> (TestIssuer, TestApp, String) {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, adjust).await;
    let token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}}));
    (issuer, app, token)
}

/// Asserts a 401 `invalid_dpop_proof` whose description contains `reason`, said in the DPoP
/// challenge, with the Bearer challenge beside it.
fn assert_invalid_proof(got: &Answer, reason: &str) {
    assert_eq!(got.status, 401, "body: {}", got.body);
    assert_eq!(got.body["error"], "invalid_dpop_proof", "{}", got.body);
    let description = got.body["error_description"].as_str().unwrap();
    assert!(description.contains(reason), "{description:?} should contain {reason:?}");
}

/// Asserts a 401 `invalid_token` for a token bound to another key than the proof's, said in the
/// DPoP challenge (RFC 9449 §7.1: the token is not this client's).
fn assert_bound_to_another_key(got: &Answer) {
    got.assert_status_and_code(401, "invalid_token");
    let description = got.body["error_description"].as_str().unwrap();
    assert!(description.contains("bound to another key"), "{description}");
    let dpop = got.challenges.iter().find(|line| line.starts_with("DPoP "));
    assert!(
        dpop.is_some_and(|line| line.starts_with(r#"DPoP realm="protected-api", error="invalid_token""#)),
        "{:?}",
        got.challenges
    );
}

async fn call(app: &TestApp, token: &str, proof: &str) -> Answer {
    answer(app.get_with_proof("/api/private", token, proof).await).await
}

async fn challenges(response: reqwest::Response) -> (u16, Vec<String>, Value) {
    let status = response.status().as_u16();
    let lines = response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    (status, lines, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_is_accepted_for_every_default_algorithm() {
    let rsa = SigningKey::fixture("attacker");
    for client in [
        DpopClient::new(),
        DpopClient::with_key(rsa.clone()),
        DpopClient::with_key(rsa.signing(Algorithm::PS256)),
        DpopClient::ed25519(),
    ] {
        let alg = client.key.alg;
        let (_issuer, app, token) = setup(&client).await;
        let url = app.url("/api/private");
        let response = app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await;
        assert_eq!(response.status(), 200, "{alg:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["cnf"]["jkt"], client.jkt.as_str());
        let scoped = app.url("/api/private-scoped");
        let response = app.get_with_proof("/api/private-scoped", &token, &client.proof("GET", &scoped, &token)).await;
        assert_eq!(response.status(), 200, "{alg:?}");
    }
}

#[tokio::test]
async fn the_dpop_header_must_be_sent_exactly_once() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let without = app.client.get(&url).header("authorization", format!("DPoP {token}")).send().await.unwrap();
    assert_invalid_proof(&answer(without).await, "carries no DPoP header");
    let twice = app
        .client
        .get(&url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", client.proof("GET", &url, &token))
        .header("dpop", client.proof("GET", &url, &token))
        .send()
        .await
        .unwrap();
    assert_invalid_proof(&answer(twice).await, "more than one DPoP header");
}

#[tokio::test]
async fn the_proof_header_must_name_its_type_an_asymmetric_algorithm_and_a_public_key() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let claims = || client.claims("GET", &url, Some(&token));
    let header = |changes: Value| with_changes(client.header(), changes);

    for (typ, reason) in [(json!(null), "typ must be dpop+jwt (it has none)"), (json!("JWT"), "not JWT")] {
        let proof = client.sign(&header(json!({"typ": typ})), &claims());
        assert_invalid_proof(&call(&app, &token, &proof).await, reason);
    }
    for alg in ["none", "HS256", "ES384", "RS256"] {
        let proof = client.sign(&header(json!({"alg": alg})), &claims());
        let reason = format!("algorithm {alg} is not accepted");
        assert_invalid_proof(&call(&app, &token, &proof).await, if alg == "RS256" { "key of type" } else { &reason });
    }
    let proof = client.sign(&header(json!({"jwk": null})), &claims());
    assert_invalid_proof(&call(&app, &token, &proof).await, "no jwk header");
    let mut private = client.jwk.clone();
    private["d"] = json!("c2VjcmV0");
    let proof = client.sign(&header(json!({"jwk": private})), &claims());
    assert_invalid_proof(&call(&app, &token, &proof).await, "holds a private key");
    let proof = client.sign(&header(json!({"crit": ["exp"]})), &claims());
    assert_invalid_proof(&call(&app, &token, &proof).await, "crit header");
    let proof = client.sign(&header(json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}})), &claims());
    assert_invalid_proof(&call(&app, &token, &proof).await, "jwk is not usable");
}

#[tokio::test]
async fn the_proof_must_be_a_jws_signed_by_its_own_key() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let other = DpopClient::new();
    // The header names the client's key; another key signed it.
    let forged = other.sign(&client.header(), &client.claims("GET", &url, Some(&token)));
    assert_invalid_proof(&call(&app, &token, &forged).await, "signature does not verify with its jwk");
    assert_invalid_proof(&call(&app, &token, "not-a-proof").await, "not a compact JWS");
    let proof = client.proof("GET", &url, &token);
    let (signing_input, _) = proof.rsplit_once('.').unwrap();
    assert_invalid_proof(&call(&app, &token, &format!("{signing_input}.***")).await, "signature is not base64url");
}

#[tokio::test]
async fn the_proof_must_be_for_this_method_url_and_moment() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let proof = |changes: Value| {
        client.sign(&client.header(), &with_changes(client.claims("GET", &url, Some(&token)), changes))
    };

    let got = call(&app, &token, &proof(json!({"htm": "POST"}))).await;
    assert_invalid_proof(&got, "htm POST is not the request's method GET");
    for htu in [app.url("/api/private-scoped"), "https://api.example.com/api/private".to_owned()] {
        let got = call(&app, &token, &proof(json!({"htu": htu}))).await;
        assert_invalid_proof(&got, &format!("htu is not the URL of this request: expected {url}"));
    }
    let equivalent = url.replace("/api/private", "/api/./private?page=2#top");
    assert_eq!(call(&app, &token, &proof(json!({"htu": equivalent}))).await.status, 200, "normalised, query ignored");

    let got = call(&app, &token, &proof(json!({"iat": unix_now() - 61}))).await;
    assert_invalid_proof(&got, "made more than 60 s ago");
    let got = call(&app, &token, &proof(json!({"iat": unix_now() + 60}))).await;
    assert_invalid_proof(&got, "iat is in the future");
    assert_eq!(call(&app, &token, &proof(json!({"iat": unix_now() - 50}))).await.status, 200);
    assert_eq!(call(&app, &token, &proof(json!({"iat": unix_now() + 20}))).await.status, 200, "within the leeway");
    let got = call(&app, &token, &proof(json!({"exp": unix_now() - 60}))).await;
    assert_invalid_proof(&got, "proof expired");
    let got = call(&app, &token, &proof(json!({"exp": unix_now() - 31}))).await;
    assert_invalid_proof(&got, "proof expired");
    assert_eq!(call(&app, &token, &proof(json!({"exp": unix_now() + 60}))).await.status, 200, "exp ahead");
    assert_eq!(call(&app, &token, &proof(json!({"exp": unix_now() - 5}))).await.status, 200, "within the leeway");
    let got = call(&app, &token, &proof(json!({"exp": "soon"}))).await;
    assert_invalid_proof(&got, "claims are not valid");

    // HEAD is answered as GET, but the proof names the method the client sent.
    let head = |proof: String| {
        app.client.head(&url).header("authorization", format!("DPoP {token}")).header("dpop", proof).send()
    };
    let response = head(proof(json!({"htm": "HEAD"}))).await.unwrap();
    assert_eq!(response.status(), 200, "a HEAD proof on HEAD");
    let response = head(proof(json!({"htm": "GET"}))).await.unwrap();
    assert_eq!(response.status(), 401, "a GET proof on HEAD");
    let (_, lines, _) = challenges(response).await;
    assert!(lines[1].contains("htm GET is not the request's method HEAD"), "{lines:?}");

    for claim in ["jti", "htm", "htu", "iat", "ath"] {
        let got = call(&app, &token, &proof(json!({ claim: null }))).await;
        assert_invalid_proof(&got, &format!("has no {claim} claim"));
    }
    let got = call(&app, &token, &proof(json!({"jti": ""}))).await;
    assert_invalid_proof(&got, "jti must have 1 to 256 characters");
    let got = call(&app, &token, &proof(json!({"iat": 1.5}))).await;
    assert_invalid_proof(&got, "claims are not valid");
}

#[tokio::test]
async fn the_proof_must_be_for_this_token_and_signed_by_the_key_it_is_bound_to() {
    let client = DpopClient::new();
    let (issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let other_token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}, "sub": "someone-else"}));
    let got = call(&app, &token, &client.proof("GET", &url, &other_token)).await;
    assert_invalid_proof(&got, "ath is not the SHA-256 hash of the access token");

    // A thief with the token and a key of their own.
    let thief = DpopClient::new();
    let got = call(&app, &token, &thief.proof("GET", &url, &token)).await;
    assert_bound_to_another_key(&got);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"auth_rejections_total{reason="dpop_key_mismatch"} 1"#), "{metrics}");

    let unbound = issuer.token();
    let got = call(&app, &unbound, &client.proof("GET", &url, &unbound)).await;
    got.assert_status_and_code(401, "invalid_token");
    assert!(got.body["error_description"].as_str().unwrap().contains("not bound to a DPoP key"));
}

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    let proof = client.proof("GET", &url, &token);
    assert_eq!(call(&app, &token, &proof).await.status, 200);
    assert_invalid_proof(&call(&app, &token, &proof).await, "was used before");
    assert_eq!(call(&app, &token, &client.proof("GET", &url, &token)).await.status, 200, "a new proof");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"auth_rejections_total{reason="dpop_replayed"} 1"#), "{metrics}");
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_proofs_instead_of_forgetting_old_ones() {
    let (alice, bob, carol) = (DpopClient::new(), DpopClient::new(), DpopClient::new());
    let (issuer, app, alices_token) =
        setup_with(&alice, |figment| figment.merge(Serialized::default("dpop.replay_capacity", 10))).await;
    let bound = |client: &DpopClient| issuer.token_with(json!({"cnf": {"jkt": client.jkt}, "sub": client.jkt}));
    let (bobs_token, carols_token) = (bound(&bob), bound(&carol));
    let url = app.url("/api/private");
    let first = alice.proof("GET", &url, &alices_token);
    assert_eq!(call(&app, &alices_token, &first).await.status, 200);
    for _ in 0..8 {
        assert_eq!(call(&app, &alices_token, &alice.proof("GET", &url, &alices_token)).await.status, 200);
    }
    // Alice holds 9 of the 10 places, her whole share: her next proof waits, Bob's does not.
    let response = app.get_with_proof("/api/private", &alices_token, &alice.proof("GET", &url, &alices_token)).await;
    assert_eq!(response.status(), 503);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((55..=64).contains(&retry_after), "until her oldest proof ends: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].as_str().unwrap().contains("whole share of the replay store"), "{body}");
    assert_eq!(call(&app, &bobs_token, &bob.proof("GET", &url, &bobs_token)).await.status, 200, "Bob finds room");

    // Now the store is full: a new proof of anyone waits for room, no proof is forgotten.
    let response = app.get_with_proof("/api/private", &carols_token, &carol.proof("GET", &url, &carols_token)).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"].as_str().unwrap().contains("replay store is full"), "{body}");
    assert_invalid_proof(&call(&app, &alices_token, &first).await, "was used before");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("dpop_replay_store_entries 10\n"), "{metrics}");
    assert!(metrics.contains(r#"auth_rejections_total{reason="dpop_replay_unavailable"} 2"#), "{metrics}");
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200, "bearer tokens go on");
}

#[tokio::test]
async fn only_proofs_that_passed_every_check_are_remembered() {
    let client = DpopClient::new();
    let (issuer, app, token) = setup(&client).await;
    let url = app.url("/api/private");
    for _ in 0..20 {
        let stranger = DpopClient::new();
        assert_bound_to_another_key(&call(&app, &token, &stranger.proof("GET", &url, &token)).await);
    }
    let expired = issuer.token_with(json!({"cnf": {"jkt": client.jkt}, "exp": unix_now() - 3600}));
    call(&app, &expired, &client.proof("GET", &url, &expired)).await.assert_status_and_code(401, "invalid_token");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("dpop_replay_store_entries 0\n"), "{metrics}");
}

#[tokio::test]
async fn a_bound_token_is_never_a_bearer_token_in_any_mode() {
    let client = DpopClient::new();
    for mode in ["allowed", "required", "disabled"] {
        let (issuer, app, token) =
            setup_with(&client, |figment| figment.merge(Serialized::default("dpop.mode", mode))).await;
        let got = answer(app.get_with_token("/api/private", &token).await).await;
        got.assert_status_and_code(401, "invalid_token");
        if mode != "required" {
            assert!(got.body["error_description"].as_str().unwrap().contains("bound to a key"), "{mode}");
        }
        let x5t_bound = issuer.token_with(json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}));
        assert_eq!(app.get_with_token("/api/private", &x5t_bound).await.status(), 401, "{mode}");
        let url = app.url("/api/private");
        let with_proof = app
            .client
            .get(&url)
            .bearer_auth(issuer.token())
            .header("dpop", client.proof("GET", &url, &issuer.token()))
            .send()
            .await
            .unwrap();
        let got = answer(with_proof).await;
        got.assert_status_and_code(400, "invalid_request");
    }
}

#[tokio::test]
async fn each_mode_offers_its_schemes() {
    let client = DpopClient::new();
    let (issuer, app, _) = setup(&client).await;
    let (status, lines, _) = challenges(app.get("/api/private").await).await;
    assert_eq!(status, 401);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with(r#"Bearer realm="protected-api", resource_metadata=""#), "{lines:?}");
    assert!(
        lines[1]
            .starts_with(r#"DPoP realm="protected-api", algs="ES256 RS256 PS256 EdDSA Ed25519", resource_metadata=""#)
    );

    drop(issuer);
    let (issuer, app, _) = setup_with(&client, |f| f.merge(Serialized::default("dpop.mode", "required"))).await;
    let (status, lines, body) = challenges(app.get_with_token("/api/private", &issuer.token()).await).await;
    assert_eq!(status, 401);
    assert_eq!(lines.len(), 1, "only DPoP is offered: {lines:?}");
    assert!(lines[0].starts_with(r#"DPoP realm="protected-api", error="invalid_token""#), "{lines:?}");
    assert!(body["error_description"].as_str().unwrap().contains("accepts only DPoP-bound tokens"));
    let metadata: Value = app.get("/.well-known/oauth-protected-resource").await.json().await.unwrap();
    assert_eq!(metadata["dpop_bound_access_tokens_required"], true);

    let (issuer, app, token) = setup_with(&client, |f| f.merge(Serialized::default("dpop.mode", "disabled"))).await;
    let url = app.url("/api/private");
    let response = app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await;
    let (status, lines, body) = challenges(response).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "the DPoP scheme is not recognised");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with(r#"Bearer realm="protected-api", resource_metadata=""#));
    let metadata: Value = app.get("/.well-known/oauth-protected-resource").await.json().await.unwrap();
    assert_eq!(metadata.get("dpop_signing_alg_values_supported"), None);
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
}

#[tokio::test]
async fn htu_is_checked_against_the_public_url_never_the_host_header() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup_with(&client, |figment| {
        figment.merge(Serialized::default("server.public_url", "https://api.example.com/gateway"))
    })
    .await;
    let public = "https://api.example.com/gateway/api/private";
    assert_eq!(call(&app, &token, &client.proof("GET", public, &token)).await.status, 200);
    // The URL the request was really sent to, as its Host header names it, is not the public one.
    let got = call(&app, &token, &client.proof("GET", &app.url("/api/private"), &token)).await;
    assert_invalid_proof(&got, &format!("expected {public}"));
    let spoofed = app
        .client
        .get(app.url("/api/private"))
        .header("host", "evil.example.com")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", client.proof("GET", "http://evil.example.com/api/private", &token))
        .send()
        .await
        .unwrap();
    assert_invalid_proof(&answer(spoofed).await, &format!("expected {public}"));
}

#[tokio::test]
async fn the_optional_route_checks_dpop_credentials_the_same_way() {
    let client = DpopClient::new();
    let (_issuer, app, token) = setup(&client).await;
    let url = app.url("/api/greeting");
    let response = app.get_with_proof("/api/greeting", &token, &client.proof("GET", &url, &token)).await;
    assert_eq!(response.json::<Value>().await.unwrap()["message"], "Hello, auth0|test-user");
    let got =
        answer(app.get_with_proof("/api/greeting", &token, &DpopClient::new().proof("GET", &url, &token)).await).await;
    assert_bound_to_another_key(&got);
}

#[tokio::test]
async fn the_development_issuer_binds_a_token_to_the_key_of_its_proof() {
    let app = TestApp::spawn_dev().await;
    let client = DpopClient::new();
    let token_url = app.url("/dev/token");
    let mint = |proof: Option<String>| {
        let mut request = app.client.post(&token_url).form(&[("scope", "read:messages")]);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send()
    };
    let proof = client.sign(&client.header(), &client.claims("POST", &token_url, None));
    let response = mint(Some(proof.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    let minted: Value = response.json().await.unwrap();
    assert_eq!(minted["token_type"], "DPoP");
    let token = minted["access_token"].as_str().unwrap();
    let url = app.url("/api/private-scoped");
    let response = app.get_with_proof("/api/private-scoped", token, &client.proof("GET", &url, token)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["cnf"]["jkt"], client.jkt.as_str());
    assert_eq!(app.get_with_token("/api/private", token).await.status(), 401, "bound: no bearer use");

    let replayed = mint(Some(proof)).await.unwrap();
    assert_eq!(replayed.status(), 400);
    assert_eq!(replayed.json::<Value>().await.unwrap()["error"], "invalid_dpop_proof");
    let wrong_method = client.sign(&client.header(), &client.claims("GET", &token_url, None));
    let refused: Value = mint(Some(wrong_method)).await.unwrap().json().await.unwrap();
    assert_eq!(refused["error"], "invalid_dpop_proof", "{refused}");
    let plain: Value = mint(None).await.unwrap().json().await.unwrap();
    assert_eq!(plain["token_type"], "Bearer");
}

/// Settings requiring nonces made with one secret, behind one public URL.
fn nonces_required(figment: figment::Figment) -> figment::Figment {
    figment
        .merge(Serialized::default("dpop.nonce", "required"))
        .merge(Serialized::default("dpop.nonce_secret", "one secret for every replica, at least 32 bytes"))
        .merge(Serialized::default("server.public_url", "https://api.example.com"))
}

#[tokio::test]
async fn with_nonces_required_a_proof_carries_the_current_nonce_and_every_dpop_answer_the_next() {
    let client = DpopClient::new();
    let (issuer, app, token) = setup_with(&client, nonces_required).await;
    let url = "https://api.example.com/api/private";
    let with_nonce = |nonce: &str| {
        let claims = with_changes(client.claims("GET", url, Some(&token)), json!({"nonce": nonce}));
        client.sign(&client.header(), &claims)
    };

    let response = app.get_with_proof("/api/private", &token, &client.proof("GET", url, &token)).await;
    let nonce = response.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let got = answer(response).await;
    got.assert_status_and_code(401, "use_dpop_nonce");
    assert!(
        got.challenges[1].starts_with(r#"DPoP realm="protected-api", error="use_dpop_nonce""#),
        "{:?}",
        got.challenges
    );

    let response = app.get_with_proof("/api/private", &token, &with_nonce(&nonce)).await;
    assert_eq!(response.status(), 200, "the retry with the nonce");
    assert_eq!(response.headers()["dpop-nonce"], nonce.as_str(), "successful answers carry the current nonce");

    for stale in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not-a-nonce", ""] {
        let got = call(&app, &token, &with_nonce(stale)).await;
        got.assert_status_and_code(401, "use_dpop_nonce");
        assert!(got.body["error_description"].as_str().unwrap().contains("not a current nonce"), "{}", got.body);
    }
    let bearer = app.get_with_token("/api/private", &issuer.token()).await;
    assert_eq!(bearer.status(), 200);
    assert!(!bearer.headers().contains_key("dpop-nonce"), "bearer answers carry no nonce");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"auth_rejections_total{reason="dpop_nonce"} 4"#), "{metrics}");
}

#[tokio::test]
async fn replicas_sharing_the_nonce_secret_accept_each_others_nonces() {
    let client = DpopClient::new();
    let (issuer, first, token) = setup_with(&client, nonces_required).await;
    let second = TestApp::spawn_with(&issuer, nonces_required).await;
    let other_secret = TestApp::spawn_with(&issuer, |figment| {
        nonces_required(figment)
            .merge(Serialized::default("dpop.nonce_secret", "another secret, also 32 bytes or more"))
    })
    .await;
    let url = "https://api.example.com/api/private";
    let response = first.get_with_proof("/api/private", &token, &client.proof("GET", url, &token)).await;
    let nonce = response.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = |nonce: &str| {
        let claims = with_changes(client.claims("GET", url, Some(&token)), json!({"nonce": nonce}));
        client.sign(&client.header(), &claims)
    };
    assert_eq!(call(&second, &token, &proof(&nonce)).await.status, 200, "the other replica accepts it");
    let got = call(&other_secret, &token, &proof(&nonce)).await;
    got.assert_status_and_code(401, "use_dpop_nonce");
}
