//! Fault soak of the release binary: 32 connections send a mix of tokens for 60 s while the
//! test issuer rotates its signing key every 10 s and cycles through faults every 5 s.
//!
//! ```text
//! cargo bench --bench soak                  # 60 s
//! SOAK_SECONDS=15 cargo bench --bench soak  # the short run of .ci/run
//! ```
//!
//! The issuer, on 127.0.0.1, serves the JWKS; its phases are healthy, refusing connections,
//! accepting and never answering, HTTP 500, invalid JSON, and a key set without a usable key.
//! Each rotation publishes a new key beside the last two and signs with it one second later.
//! The service runs in the production profile with the settings printed at the start (a short
//! TTL and cooldown, so that fetches meet every fault within the run).
//!
//! The run fails, with every violation listed, unless: every answer is 200, 401, or 503 with
//! `Retry-After` only where the token's key was never fetched; a valid token whose key the
//! service fetched gets 200; no answer takes longer than `jwks.timeout` + 1 s; no request fails
//! to connect; RSS at the end is within 10 MiB of RSS after warm-up; the fetches stay within the
//! refresh policy's bound.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{
    encoding::AsDer,
    rsa::{KeyPair, KeySize},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet, PublicKeyUse},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
};

const AUDIENCE: &str = "https://api.example.com";
const CONNECTIONS: usize = 32;
const ROTATION: Duration = Duration::from_secs(10);
const FAULT_PHASE: Duration = Duration::from_secs(5);
/// The service's settings for the run, beside the production profile's defaults.
const SETTINGS: [(&str, &str); 5] = [
    ("APP_JWKS__TTL", "3s"),
    ("APP_JWKS__COOLDOWN", "2s"),
    ("APP_JWKS__RETRY_INITIAL", "1s"),
    ("APP_JWKS__RETRY_MAX", "4s"),
    ("APP_JWKS__TIMEOUT", "5s"),
];
const TTL: Duration = Duration::from_secs(3);
const COOLDOWN: Duration = Duration::from_secs(2);
const RETRY_INITIAL: Duration = Duration::from_secs(1);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A fetched key counts as held by the service this long after the answer that carried it.
const INSTALL_MARGIN: Duration = Duration::from_millis(250);

/// What the issuer's JWKS endpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Healthy,
    Refusing,
    Silent,
    Status500,
    InvalidJson,
    NoUsableKey,
}

/// The cycle of phases after the first, healthy one.
const PHASES: [Phase; 6] =
    [Phase::Healthy, Phase::Refusing, Phase::Silent, Phase::Status500, Phase::InvalidJson, Phase::NoUsableKey];

struct SigningKey {
    kid: String,
    key: EncodingKey,
    jwk: Jwk,
}

impl SigningKey {
    fn generate(kid: String) -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let der = STANDARD.encode(pair.as_der().expect("PKCS#8").as_ref());
        let lines: Vec<&str> = der.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap()).collect();
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"));
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("PEM");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("JWK");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        SigningKey { kid, key, jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("token")
    }
}

/// The test issuer: its keys, its phase, and what it served.
struct Issuer {
    url: String,
    address: SocketAddr,
    keys: Vec<SigningKey>,
    /// Indices into `keys` of the published ones.
    published: Mutex<Vec<usize>>,
    /// The index of the key tokens are signed with.
    signing: AtomicUsize,
    phase: Mutex<Phase>,
    /// Every key set that was served whole: when its last byte was sent, and its keys.
    served: Mutex<Vec<(Instant, Vec<usize>)>>,
    requests: Mutex<BTreeMap<Phase, u64>>,
    /// When each phase began.
    phases: Mutex<Vec<(Instant, Phase)>>,
}

impl Issuer {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap()
    }

    /// Whether the issuer was healthy through all of `from..to`.
    fn healthy_between(&self, from: Instant, to: Instant) -> bool {
        let phases = self.phases.lock().unwrap();
        let at =
            |moment: Instant| phases.iter().rev().find(|(since, _)| *since <= moment).map_or(Phase::Healthy, |p| p.1);
        at(from) == Phase::Healthy
            && phases.iter().all(|(since, phase)| *since <= from || *since > to || *phase == Phase::Healthy)
    }

    /// Whether key `index` reached the service in a whole key set before `at`.
    fn was_served_before(&self, index: usize, at: Instant) -> bool {
        self.served.lock().unwrap().iter().any(|(sent, keys)| *sent + INSTALL_MARGIN < at && keys.contains(&index))
    }

    fn claims(&self) -> Value {
        let now = unix_now();
        json!({"iss": self.url, "aud": AUDIENCE, "sub": "auth0|soak", "iat": now, "exp": now + 3600, "scope": "read:messages"})
    }
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn bind(address: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(address).unwrap();
    socket.listen(1024).unwrap()
}

/// Accepts connections while the phase is not `Refusing`; the port is closed while it is.
async fn serve(issuer: Arc<Issuer>, deadline: Instant) {
    while Instant::now() < deadline {
        if issuer.phase() == Phase::Refusing {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let listener = bind(issuer.address).await;
        while issuer.phase() != Phase::Refusing && Instant::now() < deadline {
            if let Ok(Ok((stream, _))) = tokio::time::timeout(Duration::from_millis(20), listener.accept()).await {
                tokio::spawn(answer(Arc::clone(&issuer), stream));
            }
        }
    }
}

async fn answer(issuer: Arc<Issuer>, mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let phase = issuer.phase();
    *issuer.requests.lock().unwrap().entry(phase).or_default() += 1;
    let published = issuer.published.lock().unwrap().clone();
    let (status, body) = match phase {
        Phase::Healthy | Phase::Refusing => {
            let keys = published.iter().map(|index| issuer.keys[*index].jwk.clone()).collect();
            ("200 OK", serde_json::to_string(&JwkSet { keys }).unwrap())
        }
        Phase::Silent => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        Phase::Status500 => ("500 Internal Server Error", "{\"error\":\"down\"}".to_owned()),
        Phase::InvalidJson => ("200 OK", "{\"keys\": [".to_owned()),
        Phase::NoUsableKey => ("200 OK", r#"{"keys":[{"kty":"oct","kid":"secret","k":"c2VjcmV0"}]}"#.to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = stream.write_all(response.as_bytes()).await.is_ok() && stream.flush().await.is_ok();
    if sent && matches!(phase, Phase::Healthy | Phase::Refusing) {
        issuer.served.lock().unwrap().push((Instant::now(), published));
    }
}

/// The phase at `elapsed` into the run: healthy for the first phase, then the cycle.
fn phase_at(elapsed: Duration) -> Phase {
    let index = (elapsed.as_secs_f64() / FAULT_PHASE.as_secs_f64()) as usize;
    if index == 0 { Phase::Healthy } else { PHASES[index % PHASES.len()] }
}

/// Whether random kids are sent at `elapsed`: not in the quiet part of each rotation period,
/// from 2 s before a new key is published until 3 s after, so that its first use finds no
/// unknown-kid refetch within the cooldown.
fn random_kids_at(elapsed: Duration) -> bool {
    elapsed.as_secs() % ROTATION.as_secs() >= 5
}

/// Rotates the signing key (published at 2 s into each period, signing with it at 3 s) and
/// cycles the phases until `deadline`; records every phase change.
async fn conduct(issuer: Arc<Issuer>, started: Instant, deadline: Instant) {
    let mut published_periods = 0;
    while Instant::now() < deadline {
        let elapsed = started.elapsed();
        let phase = phase_at(elapsed);
        if issuer.phase() != phase {
            *issuer.phase.lock().unwrap() = phase;
            issuer.phases.lock().unwrap().push((Instant::now(), phase));
        }
        let period = (elapsed.as_secs() / ROTATION.as_secs()) as usize;
        let into_period = elapsed.as_secs_f64() % ROTATION.as_secs_f64();
        let next = published_periods + 1;
        if period + 1 == next && into_period >= 2.0 && next < issuer.keys.len() {
            let mut published = issuer.published.lock().unwrap();
            published.push(next);
            if published.len() > 3 {
                published.remove(0);
            }
            published_periods = next;
        }
        if published_periods > issuer.signing.load(Ordering::SeqCst) && into_period >= 3.0 {
            issuer.signing.store(published_periods, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The kinds of request the load mixes, with their share of 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ReusedValid,
    FreshValid,
    Expired,
    WrongAudience,
    ForgedSignature,
    RandomKid,
    NoToken,
}

const MIX: [(Kind, usize); 7] = [
    (Kind::ReusedValid, 6),
    (Kind::FreshValid, 1),
    (Kind::Expired, 2),
    (Kind::WrongAudience, 2),
    (Kind::ForgedSignature, 2),
    (Kind::RandomKid, 3),
    (Kind::NoToken, 4),
];

/// Tokens of one signing key that are signed once and sent many times.
struct KeyTokens {
    index: usize,
    reused: String,
    expired: String,
    wrong_audience: String,
    forged: String,
}

impl KeyTokens {
    fn mint(issuer: &Issuer, index: usize, attacker: &SigningKey) -> Self {
        let key = &issuer.keys[index];
        let claims = issuer.claims();
        let now = unix_now();
        let mut expired = claims.clone();
        expired["exp"] = json!(now - 3600);
        expired["iat"] = json!(now - 7200);
        let mut other = claims.clone();
        other["aud"] = json!("https://other.example.com");
        let forger = SigningKey { kid: key.kid.clone(), key: attacker.key.clone(), jwk: attacker.jwk.clone() };
        KeyTokens {
            index,
            reused: key.sign(&claims),
            expired: key.sign(&expired),
            wrong_audience: key.sign(&other),
            forged: forger.sign(&claims),
        }
    }
}

/// One answer, as the checks need it.
struct Outcome {
    kind: Kind,
    key: usize,
    status: Result<u16, String>,
    retry_after: bool,
    sent: Instant,
    took: Duration,
}

async fn drive(
    issuer: Arc<Issuer>,
    attacker: Arc<SigningKey>,
    target: String,
    worker: usize,
    started: Instant,
    deadline: Instant,
) -> Vec<Outcome> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(30)).build().unwrap();
    let schedule: Vec<Kind> = MIX.iter().flat_map(|(kind, share)| std::iter::repeat_n(*kind, *share)).collect();
    let mut tokens: Option<KeyTokens> = None;
    let mut outcomes = Vec::new();
    let mut turn = worker;
    while Instant::now() < deadline {
        let signing = issuer.signing.load(Ordering::SeqCst);
        if tokens.as_ref().is_none_or(|tokens| tokens.index != signing) {
            tokens = Some(KeyTokens::mint(&issuer, signing, &attacker));
        }
        let tokens = tokens.as_ref().unwrap();
        let kind = match schedule[turn % schedule.len()] {
            Kind::RandomKid if !random_kids_at(started.elapsed()) => Kind::NoToken,
            kind => kind,
        };
        turn += 1;
        let token = match kind {
            Kind::ReusedValid => Some(tokens.reused.clone()),
            Kind::FreshValid => Some(issuer.keys[signing].sign(&issuer.claims())),
            Kind::Expired => Some(tokens.expired.clone()),
            Kind::WrongAudience => Some(tokens.wrong_audience.clone()),
            Kind::ForgedSignature => Some(tokens.forged.clone()),
            Kind::RandomKid => {
                let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"random-{worker}-{turn}"}}"#));
                Some(format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(issuer.claims().to_string())))
            }
            Kind::NoToken => None,
        };
        let mut request = client.get(&target);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let sent = Instant::now();
        let response = request.send().await;
        let took = sent.elapsed();
        let (status, retry_after) = match response {
            Ok(response) => {
                let retry_after = response.headers().contains_key("retry-after");
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                (Ok(status), retry_after)
            }
            Err(error) => (Err(error.to_string()), false),
        };
        outcomes.push(Outcome { kind, key: signing, status, retry_after, sent, took });
    }
    outcomes
}

/// The service: the release binary in the production profile.
struct Service {
    child: Child,
    address: String,
}

impl Service {
    fn start(issuer: &Issuer) -> Self {
        let log = std::env::temp_dir().join(format!("protected-api-soak-{}.log", std::process::id()));
        let jwks_url = format!("{}jwks", issuer.url);
        let mut command = Command::new(env!("CARGO_BIN_EXE_protected-api"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .env("APP_PROFILE", "production")
            .env("AUTH0_ISSUER", &issuer.url)
            .env("AUTH0_API_AUDIENCE", AUDIENCE)
            .env("AUTH0_JWKS_URL", &jwks_url)
            .env("PORT", "0")
            .envs(SETTINGS)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null());
        // Killed on drop, whichever way this ends.
        let mut service = Service { child: command.spawn().expect("the release binary"), address: String::new() };
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

/// The value of the series `name` in a Prometheus text exposition.
/// The sum of every series whose line starts with `prefix` (a name, or a name and its first
/// labels without the closing brace), so a label added later does not hide a series.
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let seconds: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|text| text.parse().ok()).unwrap_or(60);
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let rotations = seconds.div_ceil(ROTATION.as_secs()) as usize + 1;
    eprintln!("soak: generating {} RSA keys...", rotations + 1);
    let keys: Vec<SigningKey> = (0..rotations).map(|n| SigningKey::generate(format!("key-{n}"))).collect();
    let attacker = Arc::new(SigningKey::generate("attacker".into()));
    let address: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let issuer = Arc::new(Issuer {
        url: format!("http://{address}/"),
        address,
        keys,
        published: Mutex::new(vec![0]),
        signing: AtomicUsize::new(0),
        phase: Mutex::new(Phase::Healthy),
        served: Mutex::new(Vec::new()),
        requests: Mutex::new(BTreeMap::new()),
        phases: Mutex::new(Vec::new()),
    });
    let preparation = Instant::now() + Duration::from_secs(600);
    runtime.spawn(serve(Arc::clone(&issuer), preparation));
    let service = Service::start(&issuer);
    let target = format!("http://{}/api/private", service.address);
    while runtime.block_on(reqwest::get(format!("http://{}/readyz", service.address))).map(|r| r.status().as_u16()).ok()
        != Some(200)
    {
        std::thread::sleep(Duration::from_millis(10));
    }

    println!("soak: {seconds} s, {CONNECTIONS} connections, release binary, production profile with {SETTINGS:?}");
    println!(
        "issuer: a new key every {} s (published 2 s into each period, signing with it at 3 s), phases of {} s: {PHASES:?} in a cycle; random kids only from 5 s into each period",
        ROTATION.as_secs(),
        FAULT_PHASE.as_secs()
    );
    let started = Instant::now();
    let deadline = started + duration;
    issuer.phases.lock().unwrap().push((started, Phase::Healthy));
    runtime.spawn(conduct(Arc::clone(&issuer), started, deadline));
    let warm_up = (duration / 10).max(Duration::from_secs(2));
    let rss_after_warm_up = {
        let service = &service;
        std::thread::scope(|scope| {
            let probe = scope.spawn(move || {
                std::thread::sleep(warm_up);
                service.rss_mib()
            });
            let workers: Vec<_> = (0..CONNECTIONS)
                .map(|worker| {
                    let (issuer, attacker, target) = (Arc::clone(&issuer), Arc::clone(&attacker), target.clone());
                    runtime.spawn(drive(issuer, attacker, target, worker, started, deadline))
                })
                .collect();
            let outcomes: Vec<Outcome> =
                workers.into_iter().flat_map(|worker| runtime.block_on(worker).unwrap()).collect();
            (probe.join().unwrap(), outcomes)
        })
    };
    let (rss_after_warm_up, mut outcomes) = rss_after_warm_up;
    outcomes.sort_by_key(|outcome| outcome.sent);
    let rss_at_end = service.rss_mib();
    let metrics = runtime
        .block_on(async { reqwest::get(format!("http://{}/metrics", service.address)).await?.text().await })
        .unwrap_or_default();
    let verdict = report(&issuer, &metrics, &outcomes, duration, rss_after_warm_up, rss_at_end);
    drop(service);
    if !verdict {
        std::process::exit(1);
    }
}

/// Prints the table and the checks; whether every check held.
fn report(
    issuer: &Issuer,
    metrics: &str,
    outcomes: &[Outcome],
    duration: Duration,
    rss_warm: f64,
    rss_end: f64,
) -> bool {
    let mut table: BTreeMap<Kind, BTreeMap<String, u64>> = BTreeMap::new();
    let mut violations: Vec<String> = Vec::new();
    let mut first_use: BTreeMap<usize, (Instant, Option<u16>, Option<Duration>)> = BTreeMap::new();
    let slowest = outcomes.iter().map(|outcome| outcome.took).max().unwrap_or_default();
    let started = outcomes.iter().map(|outcome| outcome.sent).min().unwrap_or_else(Instant::now);
    for outcome in outcomes {
        let label = match &outcome.status {
            Ok(503) if outcome.retry_after => "503 + Retry-After".to_owned(),
            Ok(status) => status.to_string(),
            Err(_) => "connection error".to_owned(),
        };
        *table.entry(outcome.kind).or_default().entry(label.clone()).or_default() += 1;
        let held = issuer.was_served_before(outcome.key, outcome.sent);
        let valid = matches!(outcome.kind, Kind::ReusedValid | Kind::FreshValid);
        let allowed = match (&outcome.status, valid, held) {
            (Err(_), ..) => false,
            (Ok(200), true, _) => true,
            (Ok(_), true, true) => false,
            (Ok(401), ..) => true,
            (Ok(503), _, false) => outcome.retry_after && outcome.kind != Kind::NoToken,
            _ => false,
        };
        if !allowed && violations.len() < 20 {
            violations.push(format!(
                "{:?} with key-{} at {:.2} s: {label} (key fetched before: {held})",
                outcome.kind,
                outcome.key,
                (outcome.sent - started).as_secs_f64()
            ));
        } else if !allowed {
            violations.push(String::new());
        }
        if valid {
            let entry = first_use.entry(outcome.key).or_insert((outcome.sent, None, None));
            if outcome.sent <= entry.0 {
                entry.0 = outcome.sent;
                entry.1 = outcome.status.as_ref().ok().copied();
            }
            if outcome.status == Ok(200) {
                let since = outcome.sent.saturating_duration_since(entry.0);
                entry.2 = Some(entry.2.map_or(since, |known: Duration| known.min(since)));
            }
        }
    }
    if slowest > FETCH_TIMEOUT + Duration::from_secs(1) {
        violations.push(format!("the slowest answer took {slowest:?}, over jwks.timeout + 1 s"));
    }
    if rss_end - rss_warm > 10.0 {
        violations.push(format!("RSS grew from {rss_warm:.1} MiB to {rss_end:.1} MiB"));
    }
    let successes = metric(metrics, "jwks_fetches_total{outcome=\"success\"");
    let failures = metric(metrics, "jwks_fetches_total{outcome=\"failure\"");
    let unknown_kid = metric(metrics, "jwks_unknown_kid_refetches_total{");
    let seconds = duration.as_secs_f64();
    let unknown_kid_bound = (seconds / COOLDOWN.as_secs_f64()).ceil() + 1.0;
    let fetch_bound = 1.0 + unknown_kid_bound + (seconds / TTL.min(RETRY_INITIAL).as_secs_f64()).ceil() + 1.0;
    if unknown_kid > unknown_kid_bound {
        violations.push(format!("{unknown_kid} unknown-kid refetches, over the bound {unknown_kid_bound}"));
    }
    if successes + failures > fetch_bound {
        violations.push(format!("{} fetches, over the bound {fetch_bound}", successes + failures));
    }

    let statuses: Vec<String> = {
        let mut all: Vec<String> = table.values().flat_map(|row| row.keys().cloned()).collect();
        all.sort();
        all.dedup();
        all
    };
    println!();
    println!("| kind | {} | total |", statuses.join(" | "));
    println!("| --- |{} --- |", " --- |".repeat(statuses.len()));
    let mut totals = vec![0_u64; statuses.len()];
    for (kind, row) in &table {
        let counts: Vec<u64> = statuses.iter().map(|status| row.get(status).copied().unwrap_or(0)).collect();
        for (total, count) in totals.iter_mut().zip(&counts) {
            *total += count;
        }
        let cells: Vec<String> = counts.iter().map(u64::to_string).collect();
        println!("| {kind:?} | {} | {} |", cells.join(" | "), counts.iter().sum::<u64>());
    }
    let cells: Vec<String> = totals.iter().map(u64::to_string).collect();
    println!("| all | {} | {} |", cells.join(" | "), totals.iter().sum::<u64>());
    println!();
    println!(
        "requests: {} in {seconds:.0} s ({:.0}/s); slowest answer {:.3} s (limit {} s)",
        outcomes.len(),
        outcomes.len() as f64 / seconds,
        slowest.as_secs_f64(),
        (FETCH_TIMEOUT + Duration::from_secs(1)).as_secs()
    );
    println!(
        "JWKS fetches by the service: {successes} succeeded, {failures} failed (bound {fetch_bound}: 1 at start-up, at most one per cooldown for unknown kids, at most one per min(ttl, retry_initial) otherwise); unknown-kid refetches {unknown_kid} (bound {unknown_kid_bound})"
    );
    println!(
        "requests seen by the issuer by phase (refused connections never arrive): {:?}",
        issuer.requests.lock().unwrap()
    );
    println!("server RSS: {rss_warm:.1} MiB after warm-up, {rss_end:.1} MiB at the end");
    for (key, (first_valid, first, until_accepted)) in &first_use {
        let first_kid = outcomes
            .iter()
            .filter(|outcome| outcome.key == *key && !matches!(outcome.kind, Kind::RandomKid | Kind::NoToken))
            .map(|outcome| outcome.sent)
            .min()
            .unwrap_or(*first_valid);
        let quiet = !outcomes.iter().any(|outcome| {
            outcome.kind == Kind::RandomKid
                && outcome.sent + COOLDOWN + Duration::from_millis(500) >= first_kid
                && outcome.sent <= first_kid
        });
        let healthy = issuer.healthy_between(first_kid, *first_valid + Duration::from_millis(500));
        let applies = *key > 0 && quiet && healthy;
        println!(
            "key-{key}: first request with it answered {}, first 200 {} after it{}",
            first.map_or("with a connection error".to_owned(), |status| status.to_string()),
            until_accepted.map_or("never".to_owned(), |wait| format!("{:.2} s", wait.as_secs_f64())),
            if applies { " (issuer healthy, no unknown-kid refetch within the cooldown: must be 200)" } else { "" }
        );
        if applies && *first != Some(200) {
            violations.push(format!("key-{key}: its first request was not accepted although the rule applies"));
        }
    }
    if violations.is_empty() {
        println!("soak: every check held");
        true
    } else {
        println!("soak: {} violations:", violations.len());
        for violation in violations.iter().filter(|violation| !violation.is_empty()) {
            println!("  {violation}");
        }
        false
    }
}
