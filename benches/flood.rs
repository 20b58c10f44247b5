//! Memory of the release binary under floods of distinct valid tokens, each of about 11 KB
//! (a 250-character `sub`, a 1 KB `scope`, 512 `permissions` and a namespaced claim of roles,
//! as Auth0 issues them to a user with many permissions): every one is verified and
//! enters the token cache, which must stay within `token_cache.max_bytes`.
//!
//! ```text
//! cargo bench --bench flood                          # 20,000 tokens per flood, three floods
//! FLOOD_TOKENS=5000 cargo bench --bench flood        # smaller
//! FLOOD_BINARY=/path/to/protected-api cargo bench --bench flood   # another build, same floods
//! ```
//!
//! An issuer on 127.0.0.1 (an ES256 key generated now) serves the key set; the service runs in
//! the production profile with its default settings. Three floods of distinct tokens follow one
//! another — A, B (new tokens), then A again (evicted by B, so verified again) — from 32
//! connections. The run fails unless every token is accepted, the resident memory after each
//! flood has grown by at most `token_cache.max_bytes` + 16 MiB over the idle service's, and the
//! third flood leaves it within 8 MiB of the first's: memory does not keep growing.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet, PublicKeyUse},
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const AUDIENCE: &str = "https://api.example.com";
const CONNECTIONS: usize = 32;
/// The default `token_cache.max_bytes` (settings/default.toml).
const MAX_BYTES: f64 = 32.0;
/// What the process may add beyond the cache's bytes: allocator slack, buffers, connections.
const SLACK_MIB: f64 = 16.0;
/// How far the third flood may leave memory above the first's.
const DRIFT_MIB: f64 = 8.0;

fn main() {
    let count: usize = std::env::var("FLOOD_TOKENS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let binary = std::env::var("FLOOD_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_protected-api").to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let key = EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("flood".into());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let jwks = serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let issuer_address = listener.local_addr().unwrap();
    runtime.spawn(serve_jwks(listener, jwks));
    let issuer = format!("http://{issuer_address}/");

    eprintln!("flood: signing {} tokens...", 2 * count);
    let started = Instant::now();
    let tokens_a = Arc::new(mint(&key, &issuer, "a", count));
    let tokens_b = Arc::new(mint(&key, &issuer, "b", count));
    let size = tokens_a.iter().map(String::len).sum::<usize>() / count;
    eprintln!("flood: signed in {:.1} s; {size} bytes per token", started.elapsed().as_secs_f64());

    let service = Service::start(&binary, &issuer, issuer_address);
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap();
    let base = format!("http://{}", service.address);
    runtime.block_on(async {
        while client.get(format!("{base}/readyz")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let one = runtime.block_on(client.get(format!("{base}/api/private")).bearer_auth(&tokens_a[0]).send()).unwrap();
    assert_eq!(one.status(), 200, "a flood token is accepted");
    std::thread::sleep(Duration::from_millis(200));
    let idle = service.rss_mib();

    println!(
        "flood: {count} distinct valid tokens per flood ({size} bytes each), {CONNECTIONS} connections, release binary, production profile, default settings"
    );
    println!();
    println!(
        "| {:<30} | {:>9} | {:>8} | {:>10} | {:>14} | {:>12} | {:>13} |",
        "flood", "req/s", "non-200", "RSS MiB", "growth MiB", "cache entries", "cache MiB"
    );
    println!("| {:-<30} | {:->9} | {:->8} | {:->10} | {:->14} | {:->12} | {:->13} |", "", "", "", "", "", "", "");
    println!(
        "| {:<30} | {:>9} | {:>8} | {:>10.1} | {:>14} | {:>12} | {:>13} |",
        "idle, one token", "", "", idle, "", "", ""
    );
    let mut violations = Vec::new();
    let mut after = Vec::new();
    for (name, tokens) in [("A", &tokens_a), ("B (new tokens)", &tokens_b), ("A again", &tokens_a)] {
        let (rate, refused) = runtime.block_on(flood(&client, &base, Arc::clone(tokens)));
        std::thread::sleep(Duration::from_millis(200));
        let rss = service.rss_mib();
        let metrics = runtime
            .block_on(async { client.get(format!("{base}/metrics")).send().await?.text().await })
            .unwrap_or_default();
        let entries = metric(&metrics, "auth_token_cache_entries");
        let bytes = metric(&metrics, "auth_token_cache_bytes") / (1 << 20) as f64;
        println!(
            "| {:<30} | {rate:>9.0} | {refused:>8} | {rss:>10.1} | {:>14.1} | {entries:>12} | {bytes:>13.1} |",
            format!("{name}"),
            rss - idle
        );
        if refused > 0 {
            violations.push(format!("flood {name}: {refused} tokens were not accepted"));
        }
        if rss - idle > MAX_BYTES + SLACK_MIB {
            violations.push(format!(
                "flood {name}: RSS grew by {:.1} MiB, more than max_bytes + {SLACK_MIB} MiB = {:.1} MiB",
                rss - idle,
                MAX_BYTES + SLACK_MIB
            ));
        }
        after.push(rss);
    }
    let drift = after[2] - after[0];
    println!();
    println!(
        "idle RSS {idle:.1} MiB; after the third flood {:.1} MiB above the first's (at most {DRIFT_MIB} MiB)",
        drift
    );
    if drift > DRIFT_MIB {
        violations.push(format!("memory kept growing: {drift:.1} MiB more after the third flood than after the first"));
    }
    drop(service);
    if !violations.is_empty() {
        for violation in &violations {
            eprintln!("violation: {violation}");
        }
        std::process::exit(1);
    }
}

/// `count` tokens whose `sub` is distinct, each about 11 KB.
fn mint(key: &EncodingKey, issuer: &str, label: &str, count: usize) -> Vec<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let scope: Vec<String> = (0..92).map(|n| format!("api:scope{n:02}")).collect();
    let permissions: Vec<String> = (0..512).map(|n| format!("perm:{n:04}")).collect();
    let roles: Vec<String> = (0..24).map(|n| format!("role-{n:02}-of-the-tenant")).collect();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("flood".into());
    (0..count)
        .map(|n| {
            let sub = format!("auth0|{label}{n:08}{}", "x".repeat(234 - label.len()));
            let claims = json!({
                "iss": issuer, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 3600,
                "scope": scope.join(" "), "permissions": permissions, "https://example.com/roles": roles,
            });
            jsonwebtoken::encode(&header, &claims, key).unwrap()
        })
        .collect()
}

/// Sends every token once from `CONNECTIONS` connections; the rate and how many were not 200.
async fn flood(client: &reqwest::Client, base: &str, tokens: Arc<Vec<String>>) -> (f64, usize) {
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|worker| {
            let (client, url, tokens) = (client.clone(), format!("{base}/api/private"), Arc::clone(&tokens));
            tokio::spawn(async move {
                let mut refused = 0;
                for token in tokens.iter().skip(worker).step_by(CONNECTIONS) {
                    let status = client.get(&url).bearer_auth(token).send().await.map(|r| r.status().as_u16());
                    refused += usize::from(status.ok() != Some(200));
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for worker in workers {
        refused += worker.await.unwrap();
    }
    (tokens.len() as f64 / started.elapsed().as_secs_f64(), refused)
}

/// Serves the key set at any path, one request per connection.
async fn serve_jwks(listener: TcpListener, jwks: String) {
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/jwk-set+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{jwks}",
        jwks.len()
    );
    let response = Arc::new(response);
    while let Ok((mut stream, _)) = listener.accept().await {
        let response = Arc::clone(&response);
        tokio::spawn(async move {
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

struct Service {
    child: Child,
    address: String,
}

impl Service {
    fn start(binary: &str, issuer: &str, issuer_address: SocketAddr) -> Self {
        let log = std::env::temp_dir().join(format!("protected-api-flood-{}.log", std::process::id()));
        let child = Command::new(binary)
            .current_dir(std::env::temp_dir())
            .env_clear()
            .env("APP_PROFILE", "production")
            .env("AUTH0_ISSUER", issuer)
            .env("AUTH0_API_AUDIENCE", AUDIENCE)
            .env("AUTH0_ALGORITHMS", "ES256")
            .env("AUTH0_JWKS_URL", format!("http://{issuer_address}/jwks"))
            .env("PORT", "0")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("the release binary");
        let mut service = Service { child, address: String::new() };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("listening on http://").nth(1) {
                service.address = rest.split('/').next().unwrap().to_owned();
                return service;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the service did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of the series whose line starts with `name ` in a Prometheus text exposition.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(' '))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}
