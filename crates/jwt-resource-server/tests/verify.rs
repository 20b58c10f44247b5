//! The resource server through its public API, against a key set served on loopback: typed
//! custom claims read once and kept in the token cache, and the time rules of the token cache
//! and the key store under a clock the test moves.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet},
};
use jwt_resource_server::{AuthError, Issuer, ManualClock, ResourceServer, Scope, Timestamp, TokenRejection, scope};
use serde::Deserialize;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const ISSUER: &str = "https://issuer.example/";
const AUDIENCE: &str = "https://api.example.com";
const NOW: u64 = 1_800_000_000;

/// A key set served at `http://127.0.0.1:{port}/jwks.json`, counting its fetches.
struct KeySetServer {
    url: String,
    fetches: Arc<AtomicUsize>,
}

async fn serve_keys(key: &EncodingKey) -> KeySetServer {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("k1".into());
    let body = serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&fetches);
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0_u8; 4096];
            let _ = socket.read(&mut request).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    KeySetServer { url, fetches }
}

fn key() -> EncodingKey {
    EncodingKey::from_rsa_pem(include_bytes!("fixtures/primary.pem")).unwrap()
}

fn sign(key: &EncodingKey, extra: serde_json::Value) -> String {
    let mut claims = json!({"iss": ISSUER, "sub": "auth0|1", "aud": AUDIENCE, "iat": NOW, "exp": NOW + 600});
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

fn server(keys: &KeySetServer, clock: &ManualClock) -> ResourceServer {
    ResourceServer::builder()
        .issuer(Issuer::url(ISSUER).jwks_url(&keys.url))
        .audience(AUDIENCE)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// How many times any [`Tenant`] was read from a payload.
static READS: AtomicUsize = AtomicUsize::new(0);

/// A custom claim, counting how often it is read.
#[derive(Debug)]
struct Tenant(String);

impl<'de> Deserialize<'de> for Tenant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        READS.fetch_add(1, Ordering::SeqCst);
        String::deserialize(deserializer).map(Tenant)
    }
}

#[derive(Debug, Deserialize)]
struct TenantClaims {
    #[serde(rename = "https://example.com/tenant")]
    tenant: Tenant,
}

#[tokio::test]
async fn custom_claims_are_read_once_and_kept_with_the_cached_token() {
    let key = key();
    let keys = serve_keys(&key).await;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(NOW));
    let server = server(&keys, &clock);
    let token = sign(&key, json!({"https://example.com/tenant": "acme"}));
    let verifier = server.verifier();
    let before = READS.load(Ordering::SeqCst);
    let first = verifier.verify::<TenantClaims>(&token).await.unwrap();
    assert_eq!(first.custom().tenant.0, "acme");
    for _ in 0..10 {
        let again = verifier.verify::<TenantClaims>(&token).await.unwrap();
        assert_eq!(again.custom().tenant.0, "acme");
    }
    assert_eq!(READS.load(Ordering::SeqCst) - before, 1, "a cache hit reads nothing");
    assert_eq!(verifier.verify::<()>(&token).await.unwrap().claims().sub(), Some("auth0|1"));

    let wrong = sign(&key, json!({"https://example.com/tenant": 5}));
    let refused = verifier.verify::<TenantClaims>(&wrong).await.unwrap_err();
    assert!(matches!(refused, AuthError::InvalidToken(TokenRejection::Malformed(_))), "{refused:?}");
    assert!(refused.to_string().contains("invalid type: integer `5`"), "{refused}");
    let usage = verifier.token_cache_usage().unwrap();
    assert!(usage.entries >= 1 && usage.bytes > token.len() as u64 / 2, "{usage:?}");
}

#[tokio::test]
async fn a_cached_token_ends_at_its_expiry_by_the_clock() {
    let key = key();
    let keys = serve_keys(&key).await;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(NOW));
    let server = server(&keys, &clock);
    let token = sign(&key, json!({"exp": NOW + 30}));
    server.verifier().verify::<()>(&token).await.unwrap();
    clock.advance(Duration::from_secs(30 + 9));
    server.verifier().verify::<()>(&token).await.expect("within the 10 s leeway");
    clock.advance(Duration::from_secs(1));
    let expired = server.verifier().verify::<()>(&token).await.unwrap_err();
    assert!(expired.to_string().contains("the token expired at"), "{expired}");
}

#[tokio::test]
async fn the_key_set_is_fetched_again_when_its_ttl_ends_by_the_clock() {
    let key = key();
    let keys = serve_keys(&key).await;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(NOW));
    let server = server(&keys, &clock);
    server.warm_up().await;
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1);
    let verifier = server.verifier();
    verifier.verify::<()>(&sign(&key, json!({"sub": "a"}))).await.unwrap();
    clock.advance(Duration::from_secs(599));
    verifier.verify::<()>(&sign(&key, json!({"sub": "b"}))).await.unwrap();
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 1, "within the 10 min TTL");
    clock.advance(Duration::from_secs(2));
    verifier.verify::<()>(&sign(&key, json!({"sub": "c", "exp": NOW + 3600}))).await.unwrap();
    for _ in 0..100 {
        if keys.fetches.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(keys.fetches.load(Ordering::SeqCst), 2, "a due key set is refreshed in the background");
    let health = verifier.issuers()[0].key_store().health();
    assert!(health.ready && health.age == Some(Duration::ZERO), "{health:?}");
}

scope!(ReadMessages = "read:messages");

#[tokio::test]
async fn a_requirement_sees_the_claims_and_refuses_with_its_own_answer() {
    use jwt_resource_server::{RequestParts, Scheme};
    let key = key();
    let keys = serve_keys(&key).await;
    let clock = ManualClock::new(Timestamp::from_unix_seconds(NOW));
    let server = server(&keys, &clock);
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {}", sign(&key, json!({"scope": "openid"}))).parse().unwrap());
    let parts = RequestParts { method: "GET", path: "/api/private", headers: &headers, path_params: &() };
    let denied = server.authenticate::<Scope<ReadMessages>, ()>(&parts).await.err().unwrap();
    assert_eq!((denied.status(), denied.code().as_str()), (403, "insufficient_scope"));
    let challenges = server.challenges(&denied, false, false);
    assert_eq!(
        challenges,
        [
            r#"Bearer realm="api", error="insufficient_scope", error_description="the token lacks the scope read:messages", scope="read:messages""#
        ]
    );
    headers.insert(
        "authorization",
        format!("Bearer {}", sign(&key, json!({"permissions": ["read:messages"]}))).parse().unwrap(),
    );
    let parts = RequestParts { method: "GET", path: "/api/private", headers: &headers, path_params: &() };
    let granted = server.authenticate::<Scope<ReadMessages>, ()>(&parts).await.unwrap();
    assert_eq!(granted.scheme, Scheme::Bearer);
}
