//! A test identity provider on 127.0.0.1, token minting, and the real service on an ephemeral port.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use figment::{Figment, providers::Serialized};
use jsonwebtoken::{
    Algorithm, EncodingKey, Header,
    jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash},
};
use jwt_resource_server::{ManualClock, ResourceServer, SharedClock, SystemClock};
use poem::{
    EndpointExt, Response, Route, Server, get, handler,
    listener::{Acceptor, Listener, TcpListener},
    web::{Data, Json},
};
use protected_api::{
    settings::{self, Settings, Sources},
    startup::Application,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The audience the test service expects.
pub const AUDIENCE: &str = "https://api.example.com";

/// A key of the test identity provider, with the `kid` it is published under and the
/// algorithm it signs with.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    /// Whether the published JWK names `alg` (RFC 7517 §4.4).
    pinned: bool,
}

impl SigningKey {
    /// An RS256 key from `tests/fixtures/{name}.pem`, published with `alg`.
    pub fn fixture(name: &str) -> Self {
        let pem = std::fs::read(fixtures_dir().join(format!("{name}.pem"))).expect("test key fixture");
        let key = EncodingKey::from_rsa_pem(&pem).expect("RSA PEM");
        SigningKey { kid: name.to_owned(), alg: Algorithm::RS256, key, pinned: true }
    }

    /// A P-256 key generated now, signing ES256.
    pub fn generated_ec(kid: &str) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
        let der = pair.to_pkcs8v1().expect("PKCS#8");
        let key = EncodingKey::from_ec_der(der.as_ref());
        SigningKey { kid: kid.to_owned(), alg: Algorithm::ES256, key, pinned: true }
    }

    /// The same key, signing with `alg` (PS256 with an RSA key, say).
    pub fn signing(&self, alg: Algorithm) -> Self {
        SigningKey { alg, ..self.clone() }
    }

    pub fn with_kid(&self, kid: &str) -> Self {
        SigningKey { kid: kid.to_owned(), ..self.clone() }
    }

    /// The same key, published without `alg`, so it verifies every algorithm of its type.
    pub fn unpinned(&self) -> Self {
        SigningKey { pinned: false, ..self.clone() }
    }

    pub fn encoding_key(&self) -> EncodingKey {
        self.key.clone()
    }

    /// The public half as a JWK with `kid` and `use: sig`.
    pub fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.alg).expect("JWK from key");
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        if !self.pinned {
            jwk.common.key_algorithm = None;
        }
        jwk
    }

    /// Signs the exact bytes of `header` and `payload` (JSON or not) with `alg`.
    pub fn sign_raw_with(&self, alg: Algorithm, header: &[u8], payload: &[u8]) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let signature = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.key, alg).unwrap();
        format!("{signing_input}.{signature}")
    }

    /// Signs the exact bytes of `header` and `payload` with this key's algorithm.
    pub fn sign_raw(&self, header: &str, payload: &str) -> String {
        self.sign_raw_with(self.alg, header.as_bytes(), payload.as_bytes())
    }

    /// Signs `claims` under this key's `kid` with its algorithm.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign token")
    }
}

/// A DPoP client: its key, the proofs it signs, and the key's RFC 7638 thumbprint as
/// jsonwebtoken computes it (independently of the service).
pub struct DpopClient {
    pub key: SigningKey,
    pub jwk: Value,
    pub jkt: String,
}

impl DpopClient {
    /// A client with a new P-256 key (ES256).
    pub fn new() -> Self {
        Self::with_key(SigningKey::generated_ec("dpop"))
    }

    /// A client signing with `key`.
    pub fn with_key(key: SigningKey) -> Self {
        let mut jwk = key.jwk();
        jwk.common.key_id = None;
        jwk.common.public_key_use = None;
        jwk.common.key_algorithm = None;
        Self::with_jwk(key, serde_json::to_value(&jwk).unwrap())
    }

    /// A client with a new Ed25519 key (EdDSA).
    pub fn ed25519() -> Self {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let pair = Ed25519KeyPair::generate().expect("Ed25519 key");
        let key = EncodingKey::from_ed_der(pair.to_pkcs8().expect("PKCS#8").as_ref());
        let key = SigningKey { kid: "ed".to_owned(), alg: Algorithm::EdDSA, key, pinned: true };
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self::with_jwk(key, json!({"kty": "OKP", "crv": "Ed25519", "x": x}))
    }

    fn with_jwk(key: SigningKey, jwk: Value) -> Self {
        let parsed: Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
        let jkt = parsed.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
        DpopClient { jwk, key, jkt }
    }

    /// The header of a valid proof.
    pub fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": format!("{:?}", self.key.alg), "jwk": self.jwk })
    }

    /// The claims of a valid proof for `method` on `url`, made now, for `token` when given.
    pub fn claims(&self, method: &str, url: &str, token: Option<&str>) -> Value {
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "htm": method,
            "htu": url,
            "iat": unix_now(),
        });
        if let Some(token) = token {
            use aws_lc_rs::digest::{SHA256, digest};
            use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
            claims["ath"] = URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())).into();
        }
        claims
    }

    /// A valid proof for `method` on `url` carrying `token`.
    pub fn proof(&self, method: &str, url: &str, token: &str) -> String {
        self.sign(&self.header(), &self.claims(method, url, Some(token)))
    }

    /// `header` and `claims` signed with this client's key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.key.sign_raw(&header.to_string(), &claims.to_string())
    }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// What the test identity provider's JWKS endpoint does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Serve,
    Fail500,
    Garbage,
    Hang,
}

struct IssuerState {
    issuer: String,
    jwks_uri: Mutex<String>,
    /// The keys served at [`MOVED_JWKS_PATH`], where the metadata may move the key set.
    moved_keys: Mutex<Vec<SigningKey>>,
    behaviour: Mutex<Behaviour>,
    keys: Mutex<Vec<SigningKey>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    /// The `traceparent` of every discovery and key set request, in order.
    traceparents: Mutex<Vec<String>>,
}

impl IssuerState {
    fn record_traceparent(&self, request: &poem::Request) {
        if let Some(traceparent) = request.headers().get("traceparent").and_then(|value| value.to_str().ok()) {
            self.traceparents.lock().unwrap().push(traceparent.to_owned());
        }
    }
}

/// An OpenID provider on 127.0.0.1: discovery and JWKS endpoints, switchable failures.
pub struct TestIssuer {
    pub url: String,
    state: Arc<IssuerState>,
    pub primary: SigningKey,
    _stop: oneshot::Sender<()>,
}

#[handler]
async fn discovery(request: &poem::Request, Data(state): Data<&Arc<IssuerState>>) -> Json<Value> {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    state.record_traceparent(request);
    let base = state.issuer.trim_end_matches('/');
    Json(json!({
        "issuer": state.issuer,
        "jwks_uri": *state.jwks_uri.lock().unwrap(),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

#[handler]
async fn jwks(request: &poem::Request, Data(state): Data<&Arc<IssuerState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    state.record_traceparent(request);
    let behaviour = *state.behaviour.lock().unwrap();
    match behaviour {
        Behaviour::Serve => {
            let keys = state.keys.lock().unwrap().iter().map(SigningKey::jwk).collect();
            let body = serde_json::to_string(&JwkSet { keys }).unwrap();
            Response::builder().content_type("application/jwk-set+json").body(body)
        }
        Behaviour::Fail500 => Response::builder().status(poem::http::StatusCode::INTERNAL_SERVER_ERROR).body("down"),
        Behaviour::Garbage => Response::builder().content_type("application/json").body("<html>not json"),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Response::builder().body("too late")
        }
    }
}

/// Where a test issuer can move its key set.
const MOVED_JWKS_PATH: &str = "/moved/jwks.json";

#[handler]
async fn moved_jwks(request: &poem::Request, Data(state): Data<&Arc<IssuerState>>) -> Response {
    state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    state.record_traceparent(request);
    let keys = state.moved_keys.lock().unwrap().iter().map(SigningKey::jwk).collect();
    Response::builder().content_type("application/jwk-set+json").body(serde_json::to_string(&JwkSet { keys }).unwrap())
}

/// Where a test issuer serves its metadata document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataAt {
    /// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery).
    OpenId,
    /// `/.well-known/oauth-authorization-server{path}` (RFC 8414 §3).
    OAuth,
    /// `/.well-known/openid-configuration{path}` (RFC 8414 §5).
    OpenIdAfterHost,
}

impl TestIssuer {
    /// An issuer at `http://127.0.0.1:PORT/`, with its metadata in the OpenID form and its keys
    /// at `/.well-known/jwks.json`.
    pub async fn start() -> Self {
        Self::start_at("", MetadataAt::OpenId).await
    }

    /// An issuer whose URL has `path` (`/tenant-a`, without a trailing slash; `""` for none, then
    /// the URL ends in `/`), serving its metadata only at `metadata` and its keys at
    /// `{path}/keys` (`/.well-known/jwks.json` without a path).
    pub async fn start_at(path: &str, metadata: MetadataAt) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind test issuer");
        let address: SocketAddr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        let url = if path.is_empty() { format!("http://{address}/") } else { format!("http://{address}{path}") };
        let metadata_path = match metadata {
            MetadataAt::OpenId => format!("{path}/.well-known/openid-configuration"),
            MetadataAt::OAuth => format!("/.well-known/oauth-authorization-server{path}"),
            MetadataAt::OpenIdAfterHost => format!("/.well-known/openid-configuration{path}"),
        };
        let jwks_path = if path.is_empty() { "/.well-known/jwks.json".to_owned() } else { format!("{path}/keys") };
        let primary = SigningKey::fixture("primary");
        let state = Arc::new(IssuerState {
            issuer: url.clone(),
            jwks_uri: Mutex::new(format!("http://{address}{jwks_path}")),
            moved_keys: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Behaviour::Serve),
            keys: Mutex::new(vec![primary.clone()]),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            traceparents: Mutex::new(Vec::new()),
        });
        let routes = Route::new()
            .at(metadata_path, get(discovery))
            .at(jwks_path, get(jwks))
            .at(MOVED_JWKS_PATH, get(moved_jwks))
            .data(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            routes,
            async { stopped.await.ok().unwrap_or_default() },
            Some(Duration::ZERO),
        ));
        TestIssuer { url, state, primary, _stop: stop }
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.state.behaviour.lock().unwrap() = behaviour;
    }

    /// Publishes `keys` as the key set.
    pub fn publish(&self, keys: &[SigningKey]) {
        *self.state.keys.lock().unwrap() = keys.to_vec();
    }

    /// Moves the key set: the metadata now names another `jwks_uri`, which serves `keys`; the
    /// old location keeps serving the keys it had.
    pub fn move_key_set(&self, keys: &[SigningKey]) {
        *self.state.moved_keys.lock().unwrap() = keys.to_vec();
        let base = self.url.split('/').take(3).collect::<Vec<_>>().join("/");
        *self.state.jwks_uri.lock().unwrap() = format!("{base}{MOVED_JWKS_PATH}");
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The `traceparent` headers of the discovery and key set requests so far.
    pub fn traceparents(&self) -> Vec<String> {
        self.state.traceparents.lock().unwrap().clone()
    }

    pub fn discovery_fetches(&self) -> usize {
        self.state.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Claims of a valid token for the test service.
    pub fn claims(&self) -> Value {
        let now = unix_now();
        json!({
            "iss": self.url,
            "sub": "auth0|test-user",
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "azp": "test-client",
            "scope": "openid read:messages",
        })
    }

    /// A valid token signed by the primary key.
    pub fn token(&self) -> String {
        self.primary.sign(&self.claims())
    }

    /// A token signed by the primary key with `changes` applied to the valid claims
    /// (a `null` removes the claim).
    pub fn token_with(&self, changes: Value) -> String {
        self.primary.sign(&with_changes(self.claims(), changes))
    }
}

pub fn with_changes(mut claims: Value, changes: Value) -> Value {
    let object = claims.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            object.remove(key);
        } else {
            object.insert(key.clone(), value.clone());
        }
    }
    claims
}

pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The settings files of the repository (profile `dev`), without the process environment.
pub fn base_settings() -> Figment {
    Sources::built_in("dev").files()
}

/// The real service, on an ephemeral port, trusting `issuer`.
pub struct TestApp {
    pub address: SocketAddr,
    pub metrics_address: Option<SocketAddr>,
    pub client: reqwest::Client,
    /// The service's resource server, to call without HTTP.
    pub server: Arc<ResourceServer>,
    _stop: oneshot::Sender<()>,
}

impl TestApp {
    pub async fn spawn(issuer: &TestIssuer) -> Self {
        Self::spawn_with(issuer, |figment| figment).await
    }

    /// Spawns the service with settings adjusted by `adjust` (e.g. shorter timeouts).
    pub async fn spawn_with(issuer: &TestIssuer, adjust: impl FnOnce(Figment) -> Figment) -> Self {
        let figment = base_settings()
            .merge(Serialized::default("server.port", 0))
            .merge(Serialized::default("auth0.issuer", &issuer.url))
            .merge(Serialized::default("auth0.audience", AUDIENCE));
        Self::spawn_settings(adjust(figment)).await
    }

    /// Spawns the service with its development issuer (no issuer configured).
    pub async fn spawn_dev() -> Self {
        Self::spawn_settings(base_settings().merge(Serialized::default("server.port", 0))).await
    }

    /// Spawns the service as [`spawn_with`](Self::spawn_with) does, its time rules reading the
    /// returned clock, which stands still until the test moves it.
    pub async fn spawn_with_clock(issuer: &TestIssuer, adjust: impl FnOnce(Figment) -> Figment) -> (Self, ManualClock) {
        let clock = ManualClock::new(SystemTime::now().into());
        let figment = base_settings()
            .merge(Serialized::default("server.port", 0))
            .merge(Serialized::default("auth0.issuer", &issuer.url))
            .merge(Serialized::default("auth0.audience", AUDIENCE));
        let app = Self::spawn_at(adjust(figment), Arc::new(clock.clone())).await;
        (app, clock)
    }

    async fn spawn_settings(figment: Figment) -> Self {
        Self::spawn_at(figment, Arc::new(SystemClock)).await
    }

    async fn spawn_at(figment: Figment, clock: SharedClock) -> Self {
        let settings: Settings = settings::extract(figment).expect("valid test settings");
        let application = Application::build_with_clock(&settings, clock).await.expect("build application");
        let address = application.address();
        let metrics_address = application.metrics_address();
        let server = Arc::clone(application.state().guard.server());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(application.run_until(async { stopped.await.ok().unwrap_or_default() }));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        TestApp { address, metrics_address, client, server, _stop: stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    /// `GET path` with `Authorization: DPoP <token>` and `proof` in the `DPoP` header.
    pub async fn get_with_proof(&self, path: &str, token: &str, proof: &str) -> reqwest::Response {
        let request = self.client.get(self.url(path)).header("authorization", format!("DPoP {token}"));
        request.header("dpop", proof).send().await.expect("request")
    }

    /// Polls `/readyz` until the signing keys are cached.
    pub async fn wait_until_ready(&self) {
        for _ in 0..200 {
            if self.get("/readyz").await.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the service never became ready");
    }
}

/// The status, `WWW-Authenticate` header and JSON body of a response.
pub struct Answer {
    pub status: u16,
    /// The first `WWW-Authenticate` header.
    pub challenge: Option<String>,
    /// Every `WWW-Authenticate` header, in order.
    pub challenges: Vec<String>,
    pub body: Value,
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let challenges: Vec<String> =
        response.headers().get_all("www-authenticate").iter().map(|value| value.to_str().unwrap().to_owned()).collect();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, challenge: challenges.first().cloned(), challenges, body }
}

impl Answer {
    /// Asserts the status and the body's `error`.
    pub fn assert_status_and_code(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"], code, "body: {}", self.body);
    }

    /// Asserts a 401 `invalid_token` whose description contains `reason`.
    pub fn assert_invalid_token(&self, reason: &str) {
        assert_eq!(self.status, 401, "body: {}", self.body);
        assert_eq!(self.body["error"], "invalid_token");
        let description = self.body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{description:?} should contain {reason:?}");
        let challenge = self.challenge.as_deref().expect("WWW-Authenticate");
        assert!(
            challenge.starts_with("Bearer realm=\"protected-api\", error=\"invalid_token\", error_description=\""),
            "{challenge}"
        );
        assert!(challenge.contains(reason), "{challenge:?} should contain {reason:?}");
        assert!(
            challenge.ends_with("/.well-known/oauth-protected-resource\""),
            "{challenge:?} links the resource metadata"
        );
    }
}

/// The binary, in the repository root, with exactly the environment variables `env`.
pub fn service_command(env: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_protected-api"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).env_clear().envs(env.iter().copied());
    command
}

/// Spawns `command`, retrying while its executable is "text file busy".
///
/// A binary copied by a test is briefly held open for writing by any child another test forks
/// in that moment (the descriptor lives until that child's exec), and exec fails with ETXTBSY.
fn spawn_when_not_busy(command: &mut std::process::Command) -> std::process::Child {
    const ETXTBSY: i32 = 26;
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(error) if error.raw_os_error() == Some(ETXTBSY) && attempts < 100 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result.expect("the service binary starts"),
        }
    }
}

/// Sends the signal named `name` (`TERM`, `KILL`) to `child`.
pub fn signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status();
    assert!(status.unwrap().success(), "kill -{name}");
}

/// The running binary; killed when dropped if it has not stopped by itself.
pub struct Running {
    pub child: std::process::Child,
    pub address: String,
    output: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts the binary with `env` and waits until it logs the address it listens on.
    pub fn start(env: &[(&str, &str)]) -> Self {
        Self::spawn(service_command(env))
    }

    /// Starts the binary with `env` under an open-files limit of `soft` and `hard`.
    pub fn start_with_open_files(env: &[(&str, &str)], soft: u64, hard: u64) -> Self {
        use std::os::unix::process::CommandExt;
        let mut command = service_command(env);
        // SAFETY: setrlimit is async-signal-safe and the closure allocates nothing.
        unsafe {
            command.pre_exec(move || rlimit::Resource::NOFILE.set(soft, hard));
        }
        Self::spawn(command)
    }

    /// Resident memory of the process, in bytes (Linux).
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS");
        kib * 1024
    }

    /// Starts `command` (the binary, its environment and directory set) and waits until it logs
    /// the address it listens on.
    pub fn spawn(mut command: std::process::Command) -> Self {
        use std::io::{BufRead, BufReader};
        command.env("NO_COLOR", "1").stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit());
        let mut child = spawn_when_not_busy(&mut command);
        let stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let (sender, lines) = std::sync::mpsc::channel();
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line.clone());
                let _ = sender.send(line);
            }
        });
        let mut running = Running { child, address: String::new(), output, reader: Some(reader) };
        while running.address.is_empty() {
            let line = lines.recv_timeout(Duration::from_secs(30)).expect("the service logs its address");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                running.address = rest.split('/').next().unwrap().to_owned();
            }
        }
        running
    }

    /// Whether stdout so far has a line containing `text` (`{address}` stands for the address).
    pub fn printed(&self, text: &str) -> bool {
        let text = text.replace("{address}", &self.address);
        std::thread::sleep(Duration::from_millis(100));
        self.output.lock().unwrap().iter().any(|line| line.contains(&text))
    }
}

impl Running {
    /// Sends SIGTERM, waits up to 10 s for the process to exit, and returns its exit code and
    /// every line it printed to stdout.
    pub fn terminate(self) -> (Option<i32>, Vec<String>) {
        self.signal("TERM");
        self.wait_for_exit(Duration::from_secs(10))
    }

    /// Sends the signal named `name` (`TERM`, `KILL`) to the process.
    pub fn signal(&self, name: &str) {
        signal(&self.child, name);
    }

    /// Waits up to `within` for the process to exit; returns its exit code (none if it did not,
    /// or was killed by a signal) and every line it printed to stdout.
    pub fn wait_for_exit(mut self, within: Duration) -> (Option<i32>, Vec<String>) {
        let deadline = std::time::Instant::now() + within;
        let mut exit = None;
        while std::time::Instant::now() < deadline {
            exit = self.child.try_wait().unwrap();
            if exit.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        let lines = std::mem::take(&mut *self.output.lock().unwrap());
        (exit.and_then(|status| status.code()), lines)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `redis-server` on 127.0.0.1, without persistence; stopped when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; .ci/run installs it)");
        let server = RedisServer { port, child: Some(child) };
        for _ in 0..200 {
            if server.command(&[b"PING"]).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {port}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn command(&self, args: &[&[u8]]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut connection = client.get_connection_with_timeout(Duration::from_secs(1))?;
        let mut command = redis::cmd(std::str::from_utf8(args[0]).expect("a command name"));
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query(&mut connection)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An RSA key that access tokens are encrypted to, written as a PEM file named `{kid}.pem` in a
/// folder of its own, as `auth0.decryption_keys` reads it.
pub struct EncryptionKey {
    pub kid: String,
    pub pem_path: PathBuf,
    /// The public key, SPKI PEM, for an independent encrypter.
    pub public_pem_path: PathBuf,
    public: aws_lc_rs::rsa::PublicEncryptingKey,
}

impl EncryptionKey {
    pub fn generate(kid: &str) -> Self {
        use aws_lc_rs::{
            encoding::AsDer,
            rsa::{KeySize, PrivateDecryptingKey},
        };
        let private = PrivateDecryptingKey::generate(KeySize::Rsa2048).expect("RSA key");
        let dir = std::env::temp_dir().join(format!("protected-api-keys-{}-{}", std::process::id(), next_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem_path = dir.join(format!("{kid}.pem"));
        let der = private.as_der().unwrap();
        std::fs::write(&pem_path, pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref()))).unwrap();
        let public = private.public_key();
        let public_pem_path = dir.join(format!("{kid}.pub.pem"));
        let spki = public.as_der().unwrap();
        std::fs::write(&public_pem_path, pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref()))).unwrap();
        EncryptionKey { kid: kid.to_owned(), pem_path, public_pem_path, public }
    }

    /// A compact JWE of `plaintext` (RSA-OAEP-256, A256GCM, `cty` JWT), naming this key's `kid`
    /// when `with_kid`.
    pub fn encrypt(&self, plaintext: &str, with_kid: bool) -> String {
        use aws_lc_rs::{
            aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey},
            rand::{SecureRandom, SystemRandom},
            rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey},
        };
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let mut header = json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"});
        if with_kid {
            header["kid"] = json!(self.kid);
        }
        let protected = URL_SAFE_NO_PAD.encode(header.to_string());
        let (mut cek, mut iv) = ([0_u8; 32], [0_u8; 12]);
        SystemRandom::new().fill(&mut cek).unwrap();
        SystemRandom::new().fill(&mut iv).unwrap();
        let oaep = OaepPublicEncryptingKey::new(self.public.clone()).unwrap();
        let mut wrapped = vec![0; oaep.ciphertext_size()];
        let wrapped = oaep.encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut wrapped, None).unwrap().to_vec();
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).unwrap());
        let mut body = plaintext.as_bytes().to_vec();
        let nonce = Nonce::try_assume_unique_for_key(&iv).unwrap();
        let tag = key.seal_in_place_separate_tag(nonce, Aad::from(protected.as_bytes()), &mut body).unwrap();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        format!("{protected}.{}.{}.{}.{}", b64(&wrapped), b64(&iv), b64(&body), b64(tag.as_ref()))
    }
}

fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
