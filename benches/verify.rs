//! Criterion benchmarks of the token check: a full RS256 verification with the key cached, a
//! verified-token cache hit, the same two for an encrypted token (JWE), the 401 path of a garbage token, parsing a token's claims, parsing
//! a key set; and of DPoP: one ES256 proof's check, and the whole check a DPoP request adds to
//! the cached token check (proof, `ath`, `cnf.jkt`, the replay store's insert).
//!
//! The verifiers are the real ones, fed by the built-in development issuer over loopback HTTP.
//! Run with `cargo bench --bench verify`.

use std::{future::pending, net::SocketAddr, sync::Arc, time::Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use dpop_signer::DpopKey;
use figment::providers::Serialized;
use jwt_resource_server::{Algorithm, Claims, Clock, KeySet, ResourceServer, SystemClock, Verifier, dpop::ProofTarget};
use protected_api::{
    dev_issuer::{DevIssuer, TokenOrder},
    settings::{self, Sources},
    startup::Application,
};

fn unix_now() -> i64 {
    SystemClock.now().unix_seconds()
}

/// A resource server trusting nine issuers that are never reached and, last, `issuer` (a running
/// development issuer): the worst place for the issuer a token names.
async fn ten_issuers(issuer: &DevIssuer, token_cache: bool) -> Arc<ResourceServer> {
    let mut issuers: Vec<String> = (1..10).map(|n| format!("http://127.0.0.1:9/issuer-{n}/")).collect();
    issuers.push(issuer.issuer().to_owned());
    let figment = Sources::built_in("production")
        .files()
        .merge(Serialized::default("server.port", 0))
        .merge(Serialized::default("auth0.issuers", issuers))
        .merge(Serialized::default("auth0.audience", issuer.audience()))
        .merge(Serialized::default("token_cache.enabled", token_cache));
    let settings = settings::extract(figment).expect("settings");
    let application = Application::build(&settings).await.expect("application");
    let server = Arc::clone(application.state().guard.server());
    tokio::spawn(application.run_until(pending()));
    server.verifier().issuers().last().unwrap().key_store().warm_up().await;
    server
}

/// A running service with the development issuer: its resource server (with the in-memory
/// replay store), the issuer and its address.
struct Service {
    server: Arc<ResourceServer>,
    issuer: Arc<DevIssuer>,
    address: SocketAddr,
}

impl Service {
    fn verifier(&self) -> &Verifier {
        self.server.verifier()
    }
}

async fn service(token_cache: bool) -> Service {
    service_with(token_cache, None).await
}

/// [`service`], decrypting encrypted tokens with the keys in the PEM files `decryption_keys`.
async fn service_with(token_cache: bool, decryption_keys: Option<&[String]>) -> Service {
    let sources = Sources::built_in("dev");
    let mut figment = sources
        .files()
        .merge(Serialized::default("server.port", 0))
        .merge(Serialized::default("token_cache.enabled", token_cache))
        // Room for every proof the DPoP benchmark's iterations make.
        .merge(Serialized::default("dpop.replay_capacity", 10_000_000));
    if let Some(keys) = decryption_keys {
        figment = figment.merge(Serialized::default("auth0.decryption_keys", keys));
    }
    let settings = settings::extract(figment).expect("settings");
    let application = Application::build(&settings).await.expect("application");
    let server = Arc::clone(application.state().guard.server());
    let issuer = Arc::clone(application.state().dev_issuer.as_ref().expect("the development issuer"));
    let address = application.address();
    tokio::spawn(application.run_until(pending()));
    server.warm_up().await;
    Service { server, issuer, address }
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (without_cache, with_cache) = runtime.block_on(async { (service(false).await, service(true).await) });
    let (uncached, issuer) = (without_cache.verifier(), Arc::clone(&without_cache.issuer));
    let (cached, cached_issuer) = (with_cache.verifier(), Arc::clone(&with_cache.issuer));
    let order = TokenOrder {
        sub: "bench-user".into(),
        scope: "read:messages".into(),
        expires_in: 3600,
        ..TokenOrder::default()
    };
    let token = issuer.mint(&order).unwrap();
    let cached_token = cached_issuer.mint(&order).unwrap();
    runtime.block_on(async {
        uncached.verify::<()>(&token).await.expect("a valid token");
        cached.verify::<()>(&cached_token).await.expect("a valid token");
    });

    c.bench_function("verify: RS256, key cached, token cache off", |b| {
        b.to_async(&runtime).iter(|| async { uncached.verify::<()>(&token).await.unwrap() })
    });
    let ten = runtime.block_on(ten_issuers(&issuer, false));
    let ten = ten.verifier();
    c.bench_function("verify: RS256, token cache off, 10 issuers", |b| {
        b.to_async(&runtime).iter(|| async { ten.verify::<()>(&token).await.unwrap() })
    });
    c.bench_function("verify: verified-token cache hit", |b| {
        b.to_async(&runtime).iter(|| async { cached.verify::<()>(&cached_token).await.unwrap() })
    });
    let ten_cached = runtime.block_on(ten_issuers(&issuer, true));
    let ten_cached = ten_cached.verifier();
    c.bench_function("verify: verified-token cache hit, 10 issuers", |b| {
        b.to_async(&runtime).iter(|| async { ten_cached.verify::<()>(&token).await.unwrap() })
    });
    let garbage = "eyJhbGciOiJSUzI1NiJ9.not-base64!.signature";
    c.bench_function("verify: garbage token (401)", |b| {
        b.to_async(&runtime).iter(|| async { uncached.verify::<()>(garbage).await.unwrap_err() })
    });
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
    c.bench_function("claims: parse a token's payload", |b| b.iter(|| Claims::from_payload(payload.clone()).unwrap()));
    let jwks = issuer.jwks_document().as_bytes().to_vec();
    c.bench_function("key set: parse a one-key JWKS", |b| {
        b.iter(|| KeySet::parse(&jwks, &[Algorithm::RS256]).unwrap())
    });
    encrypted(c, &runtime);
    dpop(c, &runtime, &with_cache);
}

/// The check of an encrypted token (RSA-OAEP-256 and A256GCM around an RS256 token), beside the
/// plain check above; and of a reused one, answered from the token cache.
fn encrypted(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    use aws_lc_rs::{
        encoding::AsDer,
        rsa::{KeySize, PrivateDecryptingKey},
    };
    let key = PrivateDecryptingKey::generate(KeySize::Rsa2048).unwrap();
    let path = std::env::temp_dir().join(format!("bench-{}-jwe.pem", std::process::id()));
    std::fs::write(&path, pem::encode(&pem::Pem::new("PRIVATE KEY", key.as_der().unwrap().as_ref()))).unwrap();
    let keys = [path.display().to_string()];
    let (uncached, cached) =
        runtime.block_on(async { (service_with(false, Some(&keys)).await, service_with(true, Some(&keys)).await) });
    let _ = std::fs::remove_file(&path);
    let order = TokenOrder {
        sub: "bench-user".into(),
        scope: "read:messages".into(),
        expires_in: 3600,
        ..TokenOrder::default()
    };
    let (plain_jwe, cached_jwe) =
        (jwe(&key, &uncached.issuer.mint(&order).unwrap()), jwe(&key, &cached.issuer.mint(&order).unwrap()));
    runtime.block_on(async {
        uncached.verifier().verify::<()>(&plain_jwe).await.expect("a valid JWE");
        cached.verifier().verify::<()>(&cached_jwe).await.expect("a valid JWE");
    });
    c.bench_function("verify: JWE (RSA-OAEP-256, A256GCM) of an RS256 token, token cache off", |b| {
        b.to_async(runtime).iter(|| async { uncached.verifier().verify::<()>(&plain_jwe).await.unwrap() })
    });
    c.bench_function("verify: JWE, verified-token cache hit", |b| {
        b.to_async(runtime).iter(|| async { cached.verifier().verify::<()>(&cached_jwe).await.unwrap() })
    });
}

/// A compact JWE of `token` to `key`'s public half: RSA-OAEP-256, A256GCM, `cty` JWT.
fn jwe(key: &aws_lc_rs::rsa::PrivateDecryptingKey, token: &str) -> String {
    use aws_lc_rs::{
        aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
        rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey},
    };
    let protected = URL_SAFE_NO_PAD.encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT"}"#);
    let (cek, iv) = ([3_u8; 32], [5_u8; 12]);
    let oaep = OaepPublicEncryptingKey::new(key.public_key()).unwrap();
    let mut wrapped = vec![0; oaep.ciphertext_size()];
    let wrapped = oaep.encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut wrapped, None).unwrap().to_vec();
    let sealer = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).unwrap());
    let mut body = token.as_bytes().to_vec();
    let nonce = Nonce::try_assume_unique_for_key(&iv).unwrap();
    let tag = sealer.seal_in_place_separate_tag(nonce, Aad::from(protected.as_bytes()), &mut body).unwrap();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    format!("{protected}.{}.{}.{}.{}", b64(&wrapped), b64(&iv), b64(&body), b64(tag.as_ref()))
}

/// One proof's check, and the whole DPoP check with a new proof (a new `jti`) every time, as the
/// load benchmark's DPoP run sends them.
fn dpop(c: &mut Criterion, runtime: &tokio::runtime::Runtime, service: &Service) {
    let key = DpopKey::generate().unwrap();
    let order = TokenOrder {
        sub: "bench-user".into(),
        scope: "read:messages".into(),
        expires_in: 3600,
        jkt: Some(key.thumbprint()),
        ..TokenOrder::default()
    };
    let token = service.issuer.mint(&order).unwrap();
    let url = format!("http://{}/api/private", service.address);
    let target = ProofTarget { method: "GET", path: "/api/private" };
    let verified = runtime.block_on(service.verifier().verify::<()>(&token)).expect("a valid token");
    let claims = verified.claims();
    let dpop = service.server.dpop().expect("DPoP is allowed by default");
    let proof = key.proof("GET", &url, unix_now(), Some(&token), None).unwrap();
    c.bench_function("dpop: proof check (ES256)", |b| b.iter(|| dpop.check_proof(&proof, target).unwrap()));
    c.bench_function("dpop: whole check, new proof each time (memory store)", |b| {
        b.iter_custom(|iterations| {
            let proofs: Vec<String> =
                (0..iterations).map(|_| key.proof("GET", &url, unix_now(), Some(&token), None).unwrap()).collect();
            runtime.block_on(async {
                let started = Instant::now();
                for proof in &proofs {
                    dpop.check_request(proof, target, &token, claims).await.unwrap();
                }
                started.elapsed()
            })
        })
    });
}

criterion_group!(benches, verification);
criterion_main!(benches);
