//! Fetching, caching and refreshing the signing keys, and what requests get when the identity
//! provider misbehaves.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{Behaviour, MetadataAt, SigningKey, TestApp, TestIssuer, answer};

#[tokio::test]
async fn keys_come_from_discovery_or_from_the_configured_jwks_url() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 1));

    let direct = TestIssuer::start().await;
    let jwks_url = format!("{}.well-known/jwks.json", direct.url);
    let app = TestApp::spawn_with(&direct, |f| f.merge(("auth0.jwks_url", jwks_url))).await;
    assert_eq!(app.get_with_token("/api/private", &direct.token()).await.status(), 200);
    assert_eq!((direct.discovery_fetches(), direct.jwks_fetches()), (0, 1));
}

#[tokio::test]
async fn an_unknown_kid_refetches_and_a_rotated_key_is_accepted_on_the_next_request() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("jwks.cooldown", "0s"))).await;
    app.wait_until_ready().await;
    let rotated = SigningKey::fixture("rotated");
    let token = rotated.sign(&issuer.claims());

    let before = issuer.jwks_fetches();
    answer(app.get_with_token("/api/private", &token).await)
        .await
        .assert_invalid_token("signing key kid=rotated is not in the issuer's key set");
    assert_eq!(issuer.jwks_fetches(), before + 1, "an unknown kid refetches the key set once");

    issuer.publish(std::slice::from_ref(&rotated));
    assert_eq!(app.get_with_token("/api/private", &token).await.status(), 200);
    assert_eq!(issuer.jwks_fetches(), before + 2);
    answer(app.get_with_token("/api/private", &issuer.token()).await)
        .await
        .assert_invalid_token("signing key kid=primary is not in the issuer's key set");
}

#[tokio::test]
async fn a_key_set_the_metadata_moved_is_found_by_the_next_unknown_kid() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn(&issuer).await;
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    let rotated = SigningKey::fixture("rotated");
    issuer.move_key_set(std::slice::from_ref(&rotated));
    let (discoveries, fetches) = (issuer.discovery_fetches(), issuer.jwks_fetches());

    assert_eq!(app.get_with_token("/api/private", &rotated.sign(&issuer.claims())).await.status(), 200);
    assert_eq!(issuer.discovery_fetches() - discoveries, 1, "the metadata is read again, once");
    assert_eq!(issuer.jwks_fetches() - fetches, 2, "the old location, then the new one");
    let other = SigningKey::fixture("attacker").with_kid("elsewhere");
    answer(app.get_with_token("/api/private", &other.sign(&issuer.claims())).await)
        .await
        .assert_invalid_token("signing key kid=elsewhere is not in the issuer's key set");
    assert_eq!(issuer.discovery_fetches() - discoveries, 1, "within the cooldown, nothing is fetched");
}

/// Sends `count` tokens with random `kid`s, 50 at a time, and asserts each gets 401. Their
/// signatures are not computed: an unknown `kid` is refused before the signature is checked.
async fn random_kids(app: &TestApp, issuer: &TestIssuer, count: usize) {
    let payload = URL_SAFE_NO_PAD.encode(issuer.claims().to_string());
    let mut requests = JoinSet::new();
    for n in 0..count {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"random-{n}"}}"#));
        let token = format!("{header}.{payload}.c2lnbmF0dXJl");
        let (client, url) = (app.client.clone(), app.url("/api/private"));
        requests.spawn(async move { client.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() });
        if requests.len() == 50 {
            assert_eq!(requests.join_next().await.unwrap().unwrap(), 401);
        }
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
}

/// Sends `token` to `/api/private` `count` times at once; the statuses, in completion order.
async fn concurrently(app: &TestApp, token: &str, count: usize) -> Vec<u16> {
    let mut requests = JoinSet::new();
    for _ in 0..count {
        let (client, url, token) = (app.client.clone(), app.url("/api/private"), token.to_owned());
        requests.spawn(async move { client.get(url).bearer_auth(token).send().await.unwrap().status().as_u16() });
    }
    requests.join_all().await
}

#[tokio::test]
async fn a_key_published_right_after_start_up_is_accepted_on_its_first_request() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| f).await;
    app.wait_until_ready().await;
    clock.advance(Duration::from_secs(1));
    let rotated = SigningKey::fixture("rotated");
    issuer.publish(&[issuer.primary.clone(), rotated.clone()]);
    let before = issuer.jwks_fetches();

    let first = app.get_with_token("/api/private", &rotated.sign(&issuer.claims())).await;
    assert_eq!(first.status(), 200, "the start-up fetch does not start the unknown-kid cooldown");
    assert_eq!(issuer.jwks_fetches(), before + 1, "exactly one extra fetch");

    random_kids(&app, &issuer, 1000).await;
    assert_eq!(issuer.jwks_fetches(), before + 1, "random kids within the cooldown fetch nothing");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let refetches = format!("jwks_unknown_kid_refetches_total{{issuer=\"{}\"}} 1", issuer.url);
    assert!(metrics.lines().any(|line| line == refetches), "{metrics}");
}

#[tokio::test]
async fn a_key_published_right_after_a_scheduled_refresh_is_accepted_on_its_first_request() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| f.merge(("jwks.ttl", "3s"))).await;
    app.wait_until_ready().await;
    clock.advance(Duration::from_millis(3100));
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    for _ in 0..100 {
        if issuer.jwks_fetches() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(issuer.jwks_fetches(), 2, "the key set was due: one scheduled refresh");
    let rotated = SigningKey::fixture("rotated");
    issuer.publish(&[issuer.primary.clone(), rotated.clone()]);

    let first = app.get_with_token("/api/private", &rotated.sign(&issuer.claims())).await;
    assert_eq!(first.status(), 200, "a scheduled refresh does not start the unknown-kid cooldown");
    assert_eq!(issuer.jwks_fetches(), 3, "exactly one extra fetch");

    random_kids(&app, &issuer, 1000).await;
    assert_eq!(issuer.jwks_fetches(), 3, "random kids within the cooldown fetch nothing");
}

#[tokio::test]
async fn a_new_key_waits_for_the_refetch_another_unknown_kid_started() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("token_cache.enabled", false))).await;
    app.wait_until_ready().await;
    let rotated = SigningKey::fixture("rotated");
    issuer.publish(&[issuer.primary.clone(), rotated.clone()]);
    for status in concurrently(&app, &rotated.sign(&issuer.claims()), 100).await {
        assert_eq!(status, 200, "concurrent first requests share the one refetch");
    }
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn a_flood_of_random_kids_causes_at_most_one_refetch_per_cooldown() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| f.merge(("jwks.cooldown", "1s"))).await;
    app.wait_until_ready().await;
    clock.advance(Duration::from_millis(1100));
    let before = issuer.jwks_fetches();

    random_kids(&app, &issuer, 200).await;
    assert_eq!(issuer.jwks_fetches() - before, 1, "200 unknown kids, one refetch");
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
}

#[tokio::test]
async fn a_thousand_concurrent_first_requests_on_a_cold_cache_share_one_fetch() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("token_cache.enabled", false))).await;
    for status in concurrently(&app, &issuer.token(), 1000).await {
        assert_eq!(status, 200);
    }
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(issuer.discovery_fetches(), 1);
}

#[tokio::test]
async fn identity_provider_down_at_start_then_up() {
    let issuer = TestIssuer::start().await;
    issuer.set_behaviour(Behaviour::Fail500);
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| {
        f.merge(("jwks.retry_initial", "200ms")).merge(("jwks.retry_max", "200ms"))
    })
    .await;

    assert_eq!(app.get("/api/public").await.status(), 200, "public routes work without keys");
    assert_eq!(app.get("/healthz").await.status(), 200);
    let response = app.get_with_token("/api/private", &issuer.token()).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let got = answer(response).await;
    assert_eq!(got.status, 503);
    assert_eq!(got.body["error"], "temporarily_unavailable");
    let readiness = app.get("/readyz").await;
    assert_eq!(readiness.status(), 503);
    let readiness: Value = readiness.json().await.unwrap();
    assert_eq!(readiness["status"], "not_ready");
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("answered 500"), "{readiness}");

    issuer.set_behaviour(Behaviour::Serve);
    clock.advance(Duration::from_millis(250));
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn failed_fetches_back_off_instead_of_following_every_request() {
    let issuer = TestIssuer::start().await;
    issuer.set_behaviour(Behaviour::Garbage);
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("jwks.retry_initial", "10s"))).await;
    for _ in 0..20 {
        assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 503);
    }
    assert_eq!(issuer.jwks_fetches(), 1, "one attempt, then the backoff holds");
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("not a JWKS document"), "{readiness}");
}

#[tokio::test]
async fn identity_provider_down_after_warm_up_keeps_serving_known_keys() {
    let issuer = TestIssuer::start().await;
    let (app, clock) =
        TestApp::spawn_with_clock(&issuer, |f| f.merge(("jwks.ttl", "100ms")).merge(("jwks.cooldown", "0s"))).await;
    app.wait_until_ready().await;
    issuer.set_behaviour(Behaviour::Fail500);
    clock.advance(Duration::from_millis(150));

    let started = Instant::now();
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(500), "a known kid never waits on the network");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(issuer.jwks_fetches() >= 2, "the due refresh ran in the background");
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(readiness["status"], "ready", "stale keys still serve: {readiness}");
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("answered 500"));

    let unknown = SigningKey::fixture("rotated").sign(&issuer.claims());
    answer(app.get_with_token("/api/private", &unknown).await).await.assert_invalid_token("kid=rotated");
    assert_eq!(
        app.get_with_token("/api/private", &issuer.token()).await.status(),
        200,
        "a failed refetch keeps the good keys"
    );
}

#[tokio::test]
async fn stale_keys_stop_serving_after_the_stale_period() {
    let issuer = TestIssuer::start().await;
    let (app, clock) = TestApp::spawn_with_clock(&issuer, |f| {
        f.merge(("jwks.ttl", "100ms"))
            .merge(("jwks.max_stale", "200ms"))
            .merge(("jwks.retry_initial", "1h"))
            .merge(("jwks.retry_max", "1h"))
    })
    .await;
    app.wait_until_ready().await;
    issuer.set_behaviour(Behaviour::Fail500);
    clock.advance(Duration::from_millis(400));
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 503);
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn a_hanging_identity_provider_gets_503_within_the_timeout() {
    let issuer = TestIssuer::start().await;
    issuer.set_behaviour(Behaviour::Hang);
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("jwks.timeout", "1s"))).await;
    let started = Instant::now();
    let got = answer(app.get_with_token("/api/private", &issuer.token()).await).await;
    assert_eq!(got.status, 503);
    assert!(started.elapsed() < Duration::from_secs(3), "answered after {:?}", started.elapsed());
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("timed out"), "{readiness}");
}

#[tokio::test]
async fn requests_queued_behind_a_fetch_that_timed_out_do_not_fetch_again() {
    let issuer = TestIssuer::start().await;
    issuer.set_behaviour(Behaviour::Hang);
    let app =
        TestApp::spawn_with(&issuer, |f| f.merge(("jwks.timeout", "1s")).merge(("jwks.retry_initial", "500ms"))).await;
    let started = Instant::now();
    for status in concurrently(&app, &issuer.token(), 10).await {
        assert_eq!(status, 503);
    }
    assert!(started.elapsed() < Duration::from_millis(1900), "answered after {:?}", started.elapsed());
    assert_eq!(issuer.jwks_fetches(), 1, "the backoff counts from the end of the failed fetch");
}

#[tokio::test]
async fn unknown_kids_queued_behind_a_refetch_that_timed_out_share_its_failure() {
    let issuer = TestIssuer::start().await;
    let (app, clock) =
        TestApp::spawn_with_clock(&issuer, |f| f.merge(("jwks.timeout", "1s")).merge(("jwks.cooldown", "100ms"))).await;
    app.wait_until_ready().await;
    issuer.set_behaviour(Behaviour::Hang);
    let token = SigningKey::fixture("rotated").sign(&issuer.claims());
    let mut requests = JoinSet::new();
    for _wave in 0..5 {
        for _ in 0..10 {
            let (client, url, token) = (app.client.clone(), app.url("/api/private"), token.clone());
            requests.spawn(async move {
                let sent = Instant::now();
                let status = client.get(url).bearer_auth(token).send().await.unwrap().status().as_u16();
                (status, sent.elapsed())
            });
        }
        // Each wave comes after the cooldown, while the first refetch still hangs.
        clock.advance(Duration::from_millis(250));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    for (status, took) in requests.join_all().await {
        assert_eq!(status, 401);
        assert!(took < Duration::from_millis(1600), "an answer waited for more than one fetch: {took:?}");
    }
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let issuer = TestIssuer::start().await;
    let configured = issuer.url.trim_end_matches('/').to_owned();
    let token = issuer.token_with(json!({ "iss": configured }));
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.issuer", configured))).await;
    assert_eq!(app.get_with_token("/api/private", &token).await.status(), 503);
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("is not the configured issuer"), "{readiness}");
    assert_eq!(issuer.jwks_fetches(), 0);
}

#[tokio::test]
async fn a_key_set_over_the_body_cap_is_refused() {
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("jwks.max_body_bytes", 200))).await;
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 503);
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert!(readiness["last_fetch_error"].as_str().unwrap().contains("sent more than 200 bytes"), "{readiness}");
}

#[tokio::test]
async fn an_issuer_with_a_path_is_found_in_every_metadata_form() {
    for form in [MetadataAt::OpenId, MetadataAt::OAuth, MetadataAt::OpenIdAfterHost] {
        let issuer = TestIssuer::start_at("/tenant-a", form).await;
        assert!(!issuer.url.ends_with('/'), "{}", issuer.url);
        let app = TestApp::spawn(&issuer).await;
        let response = app.get_with_token("/api/private", &issuer.token()).await;
        assert_eq!(response.status(), 200, "{form:?}");
        assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 1), "{form:?}");
    }
}

#[tokio::test]
async fn a_metadata_document_naming_another_issuer_is_never_taken() {
    // The issuer serves its document (naming `http://…/tenant-a`) in the RFC 8414 form; the
    // service is configured with `http://…/tenant-a/`, which no document names.
    let issuer = TestIssuer::start_at("/tenant-a", MetadataAt::OAuth).await;
    let configured = format!("{}/", issuer.url);
    let token = issuer.token_with(json!({ "iss": configured }));
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.issuer", configured))).await;
    assert_eq!(app.get_with_token("/api/private", &token).await.status(), 503);
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    let error = readiness["last_fetch_error"].as_str().unwrap();
    assert!(error.starts_with("no metadata document names the issuer: "), "{error}");
    assert!(error.contains("/tenant-a/.well-known/openid-configuration answered 404"), "{error}");
    assert!(error.contains("is not the configured issuer"), "{error}");
    assert_eq!(issuer.jwks_fetches(), 0);
}

/// Settings that trust `issuers` and no single issuer.
fn trusting(issuers: &[&TestIssuer]) -> impl FnOnce(figment::Figment) -> figment::Figment {
    let urls: Vec<String> = issuers.iter().map(|issuer| issuer.url.clone()).collect();
    move |f| f.merge(("auth0.issuer", "")).merge(("auth0.issuers", urls))
}

#[tokio::test]
async fn several_issuers_each_verify_their_own_tokens_and_an_untrusted_one_is_never_fetched() {
    let a = TestIssuer::start().await;
    let b = TestIssuer::start_at("/tenant-b", MetadataAt::OpenId).await;
    let untrusted = TestIssuer::start().await;
    // B publishes a different key under A's kid.
    let b_key = SigningKey::fixture("rotated").with_kid(&a.primary.kid);
    b.publish(std::slice::from_ref(&b_key));
    let app = TestApp::spawn_with(&a, trusting(&[&a, &b])).await;

    assert_eq!(app.get_with_token("/api/private", &a.token()).await.status(), 200);
    assert_eq!(app.get_with_token("/api/private", &b_key.sign(&b.claims())).await.status(), 200);
    let b_claims_signed_by_a = a.primary.sign(&b.claims());
    answer(app.get_with_token("/api/private", &b_claims_signed_by_a).await)
        .await
        .assert_invalid_token("the token's signature does not verify");
    answer(app.get_with_token("/api/private", &untrusted.token()).await)
        .await
        .assert_invalid_token(&format!("the token's issuer {} is not trusted", untrusted.url));
    assert_eq!((untrusted.discovery_fetches(), untrusted.jwks_fetches()), (0, 0), "an untrusted issuer is never asked");

    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(readiness["status"], "ready");
    let issuers: Vec<&str> =
        readiness["issuers"].as_array().unwrap().iter().map(|i| i["issuer"].as_str().unwrap()).collect();
    assert_eq!(issuers, [a.url.as_str(), b.url.as_str()]);
    let metadata: Value = app.get("/.well-known/oauth-protected-resource").await.json().await.unwrap();
    assert_eq!(metadata["authorization_servers"], json!([a.url, b.url]));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for issuer in [&a, &b] {
        let fetched = format!("jwks_fetches_total{{outcome=\"success\",issuer=\"{}\"}} 1", issuer.url);
        assert!(metrics.lines().any(|line| line == fetched), "{fetched} in\n{metrics}");
    }
    assert!(!metrics.contains(&untrusted.url), "no label for an issuer that is not configured");
}

#[tokio::test]
async fn one_issuer_down_does_not_slow_the_other() {
    let a = TestIssuer::start().await;
    let b = TestIssuer::start_at("/tenant-b", MetadataAt::OAuth).await;
    a.set_behaviour(Behaviour::Hang);
    let app = TestApp::spawn_with(&a, |f| trusting(&[&a, &b])(f).merge(("jwks.timeout", "2s"))).await;
    let hanging = {
        let (client, url, token) = (app.client.clone(), app.url("/api/private"), a.token());
        tokio::spawn(async move { client.get(url).bearer_auth(token).send().await.unwrap().status() })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    assert_eq!(app.get_with_token("/api/private", &b.token()).await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(500), "B waited {:?} for A", started.elapsed());
    assert_eq!(hanging.await.unwrap(), 503, "A's token gets 503 once A's fetch times out");
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(readiness["status"], "not_ready", "not ready while one issuer has no keys: {readiness}");
    assert_eq!(readiness["issuers"][1]["status"], "ready");
}

#[tokio::test]
async fn readiness_shows_the_kind_of_a_failure_never_its_details() {
    let issuer = TestIssuer::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let jwks_url = format!("http://{closed}/keys.json?api_key=s3cret#part");
    let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.jwks_url", jwks_url))).await;
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 503);
    let readiness: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(readiness["last_fetch_error"], format!("http://{closed}/keys.json: could not connect"), "{readiness}");
    assert_eq!(readiness["issuers"][0]["last_fetch_error"], readiness["last_fetch_error"]);
}
