//! The DPoP replay store in Redis: a real `redis-server` started by the test on 127.0.0.1, two
//! service processes sharing it behind one public URL, and what happens when Redis is gone or
//! never answers. They need Debian's redis-server, which `cargo test` cannot install: `.ci/run`
//! installs it and runs them.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use figment::providers::Serialized;
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, DpopClient, RedisServer, Running, TestApp, TestIssuer};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs redis-server (apt-get install redis-server); .ci/run runs it"]
async fn a_proof_accepted_by_one_replica_is_refused_by_the_other() {
    let redis = RedisServer::start();
    let issuer = TestIssuer::start().await;
    let public_url = "https://api.example.com";
    let store = redis.url();
    let env = [
        ("AUTH0_ISSUER", issuer.url.as_str()),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("PORT", "0"),
        ("APP_SERVER__PUBLIC_URL", public_url),
        ("APP_DPOP__REPLAY_STORE", store.as_str()),
    ];
    let (one, two) = (Running::start(&env), Running::start(&env));
    let client = DpopClient::new();
    let token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}}));
    let http = reqwest::Client::new();
    let send = |replica: &Running, proof: &str| {
        http.get(format!("http://{}/api/private", replica.address))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    // Both replicas sit behind one load balancer: proofs name its URL.
    let proof = client.proof("GET", &format!("{public_url}/api/private"), &token);
    assert_eq!(send(&one, &proof).await.unwrap().status(), 200);
    let replayed = send(&two, &proof).await.unwrap();
    assert_eq!(replayed.status(), 401);
    let body: Value = replayed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    assert!(body["error_description"].as_str().unwrap().contains("was used before"));
    assert_eq!(send(&one, &proof).await.unwrap().status(), 401, "nor again by the first");
    let fresh = client.proof("GET", &format!("{public_url}/api/private"), &token);
    assert_eq!(send(&two, &fresh).await.unwrap().status(), 200);

    let Ok(redis::Value::Array(keys)) = redis.command(&[b"KEYS".as_slice(), b"dpop:*"]) else {
        panic!("KEYS failed");
    };
    assert_eq!(keys.len(), 2, "one entry per accepted proof");
    let redis::Value::BulkString(key) = &keys[0] else { panic!("{keys:?}") };
    assert_eq!(key.len(), "dpop:".len() + 16, "the prefix and a 16-byte id");
    let Ok(redis::Value::Int(ttl)) = redis.command(&[b"PTTL".as_slice(), key]) else {
        panic!("PTTL failed");
    };
    assert!((55_000..=61_000).contains(&ttl), "kept until the proof's iat is max_age old: {ttl} ms");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs redis-server (apt-get install redis-server); .ci/run runs it"]
async fn without_redis_dpop_requests_get_503_and_bearer_requests_go_on() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let issuer = TestIssuer::start().await;
    let store = redis.url();
    let app = TestApp::spawn_with(&issuer, |f| f.merge(Serialized::default("dpop.replay_store", &store))).await;
    let client = DpopClient::new();
    let token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}}));
    let url = app.url("/api/private");
    assert_eq!(app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await.status(), 200);

    redis.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let response = app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(body["error_description"].as_str().unwrap().contains("Redis"), "{body}");
        assert!(started.elapsed() < Duration::from_secs(5), "refused, not left hanging");
        assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"auth_rejections_total{reason="dpop_replay_unavailable"} 3"#), "{metrics}");

    let _back = RedisServer::start_on(port);
    let mut status = 0;
    for _ in 0..50 {
        status = app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "the store reconnects when Redis is back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_never_answers_refuses_within_the_deadline() {
    // Accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let store = format!("redis://{}", silent.local_addr().unwrap());
    let issuer = TestIssuer::start().await;
    let app = TestApp::spawn_with(&issuer, |f| f.merge(Serialized::default("dpop.replay_store", &store))).await;
    let client = DpopClient::new();
    let token = issuer.token_with(json!({"cnf": {"jkt": client.jkt}}));
    let url = app.url("/api/private");
    let response = app.get_with_proof("/api/private", &token, &client.proof("GET", &url, &token)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(app.get_with_token("/api/private", &issuer.token()).await.status(), 200);
    drop(silent);
}
