//! Three replicas of the built binary behind Debian's HAProxy, routed as Kubernetes routes: a
//! replica leaves rotation when its readiness probe fails, and a request is never retried on
//! another replica (`retries 0`, no `option redispatch`). They share one `redis-server` for DPoP
//! replay and one nonce secret. An open-loop load of bearer and DPoP requests at half the
//! measured capacity runs while each replica in turn gets SIGTERM and is restarted: no request
//! fails. Then one replica is killed outright: the failures stay within what was in flight on it
//! and its share of the load during HAProxy's detection time.
//!
//! They need haproxy and redis-server, which `cargo test` cannot install: `.ci/run` installs them
//! and runs these tests on their own (`-- --ignored rolling --test-threads=1`), since they
//! measure capacity.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;

use crate::helpers::{AUDIENCE, DpopClient, RedisServer, Running, TestIssuer, with_changes};

const REPLICAS: usize = 3;
/// HAProxy's readiness probe: every 300 ms, out of rotation after one failure, back after two
/// successes; a probe gets 200 ms.
const CHECK_INTER: Duration = Duration::from_millis(300);
const CHECK_TIMEOUT: Duration = Duration::from_millis(200);
/// Each replica keeps serving this long after SIGTERM: over three probe intervals.
const SHUTDOWN_DELAY: &str = "1s";
const NONCE_SECRET: &str = "one nonce secret shared by every replica of the service";
/// The share of the measured capacity the open-loop load runs at.
const LOAD_SHARE: f64 = 0.5;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// HAProxy in front of the replicas' ports, with a CSV stats page; stopped when dropped.
struct Balancer {
    port: u16,
    stats_port: u16,
    child: Child,
    _config: tempfile_path::TempPath,
}

mod tempfile_path {
    /// A file removed when dropped.
    pub struct TempPath(pub std::path::PathBuf);

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl Balancer {
    fn start(replica_ports: &[u16]) -> Self {
        let (port, stats_port) = (free_port(), free_port());
        let servers: String = replica_ports
            .iter()
            .enumerate()
            .map(|(index, port)| format!("    server r{index} 127.0.0.1:{port}\n"))
            .collect();
        let config = format!(
            "global\n    maxconn 4000\n\
             defaults\n    mode http\n    retries 0\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    timeout check {check_timeout}ms\n\
             frontend api\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\
             backend replicas\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    default-server check inter {inter}ms fall 1 rise 2\n{servers}\
             listen stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /stats\n",
            check_timeout = CHECK_TIMEOUT.as_millis(),
            inter = CHECK_INTER.as_millis(),
        );
        let path = std::env::temp_dir().join(format!("protected-api-haproxy-{}-{port}.cfg", std::process::id()));
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .expect("haproxy (Debian package haproxy; .ci/run installs it)");
        Balancer { port, stats_port, child, _config: tempfile_path::TempPath(path) }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Each replica's state in HAProxy (`UP`, `DOWN`, `UP 1/2`, …), in order.
    async fn states(&self, http: &reqwest::Client) -> Vec<String> {
        let Ok(response) = http.get(format!("http://127.0.0.1:{}/stats;csv", self.stats_port)).send().await else {
            return Vec::new();
        };
        let csv = response.text().await.unwrap_or_default();
        csv.lines()
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|fields| fields.len() > 17 && fields[0] == "replicas" && fields[1].starts_with('r'))
            .map(|fields| fields[17].to_owned())
            .collect()
    }

    /// Waits until HAProxy has `replica` in the state `state`.
    async fn wait_for(&self, http: &reqwest::Client, replica: usize, state: &str) {
        let started = Instant::now();
        loop {
            if self.states(http).await.get(replica).is_some_and(|now| now == state) {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "replica {replica} never became {state}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment every replica runs with, listening on `port`.
fn replica_env(issuer: &TestIssuer, redis: &RedisServer, public_url: &str, port: u16) -> Vec<(String, String)> {
    [
        ("APP_PROFILE", "production"),
        ("AUTH0_ISSUER", issuer.url.as_str()),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("PORT", &port.to_string()),
        ("APP_SERVER__PUBLIC_URL", public_url),
        ("APP_SERVER__SHUTDOWN_DELAY", SHUTDOWN_DELAY),
        ("APP_SERVER__SHUTDOWN_TIMEOUT", "5s"),
        ("APP_DPOP__REPLAY_STORE", &redis.url()),
        ("APP_DPOP__NONCE", "required"),
        ("APP_DPOP__NONCE_SECRET", NONCE_SECRET),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

async fn start_replica(env: Vec<(String, String)>) -> Running {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
        Running::start(&env)
    })
    .await
    .unwrap()
}

/// What the load's clients send: bearer and DPoP requests in turn, each DPoP request with a new
/// proof carrying the latest nonce any answer gave.
struct Traffic {
    http: reqwest::Client,
    url: String,
    bearer: String,
    dpop: DpopClient,
    bound: String,
    nonce: Mutex<String>,
    sent: AtomicUsize,
}

/// How one request ended.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    latency: Duration,
    /// The status, or the connection error.
    result: Result<u16, String>,
}

impl Traffic {
    fn proof(&self) -> String {
        let claims = self.dpop.claims("GET", &self.url, Some(&self.bound));
        let nonce = self.nonce.lock().unwrap().clone();
        self.dpop.sign(&self.dpop.header(), &with_changes(claims, json!({ "nonce": nonce })))
    }

    async fn send(&self) -> Sent {
        let at = Instant::now();
        let dpop = self.sent.fetch_add(1, Ordering::Relaxed) % 2 == 1;
        let request = if dpop {
            self.http
                .get(&self.url)
                .header("authorization", format!("DPoP {}", self.bound))
                .header("dpop", self.proof())
        } else {
            self.http.get(&self.url).bearer_auth(&self.bearer)
        };
        let result = match request.send().await {
            Ok(response) => {
                if let Some(nonce) = response.headers().get("dpop-nonce").and_then(|value| value.to_str().ok()) {
                    nonce.clone_into(&mut self.nonce.lock().unwrap());
                }
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(_) => Ok(status),
                    Err(error) => Err(format!("body: {error}")),
                }
            }
            Err(error) => Err(format!("{error:?}")),
        };
        Sent { at, latency: at.elapsed(), result }
    }
}

/// Requests completed per second by `workers` clients each sending the next request when the
/// last is answered, for `duration`.
async fn capacity(traffic: &Arc<Traffic>, workers: usize, duration: Duration) -> f64 {
    let stop = Instant::now() + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let traffic = Arc::clone(traffic);
        tasks.spawn(async move {
            let mut done = 0_usize;
            while Instant::now() < stop {
                let sent = traffic.send().await;
                assert_eq!(sent.result, Ok(200), "every request succeeds while measuring");
                done += 1;
            }
            done
        });
    }
    tasks.join_all().await.into_iter().sum::<usize>() as f64 / duration.as_secs_f64()
}

/// An open-loop load: a request every 1/`rate` s whether or not the earlier ones were answered,
/// until `stop`; returns how each ended.
fn open_loop(traffic: Arc<Traffic>, rate: f64, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Sent>> {
    tokio::spawn(async move {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut tasks = tokio::task::JoinSet::new();
        while !stop.load(Ordering::Relaxed) {
            ticks.tick().await;
            let (traffic, sent) = (Arc::clone(&traffic), Arc::clone(&sent));
            tasks.spawn(async move {
                let outcome = traffic.send().await;
                sent.lock().unwrap().push(outcome);
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
        std::mem::take(&mut *sent.lock().unwrap())
    })
}

fn percentile(sent: &[Sent], share: f64) -> Duration {
    let mut latencies: Vec<Duration> = sent.iter().map(|sent| sent.latency).collect();
    latencies.sort();
    latencies[((latencies.len() - 1) as f64 * share) as usize]
}

/// Everything the two tests share: the issuer, Redis, the replicas, the balancer, the traffic.
struct Cluster {
    issuer: TestIssuer,
    _redis: RedisServer,
    envs: Vec<Vec<(String, String)>>,
    replicas: Vec<Option<Running>>,
    balancer: Balancer,
    traffic: Arc<Traffic>,
    rate: f64,
}

impl Cluster {
    async fn start() -> Self {
        let issuer = TestIssuer::start().await;
        let redis = RedisServer::start();
        let ports: Vec<u16> = (0..REPLICAS).map(|_| free_port()).collect();
        let balancer = Balancer::start(&ports);
        let envs: Vec<_> = ports.iter().map(|port| replica_env(&issuer, &redis, &balancer.url(), *port)).collect();
        let mut replicas = Vec::new();
        for env in &envs {
            replicas.push(Some(start_replica(env.clone()).await));
        }
        let http = reqwest::Client::new();
        for replica in 0..REPLICAS {
            balancer.wait_for(&http, replica, "UP").await;
        }
        let dpop = DpopClient::new();
        let bound = issuer.token_with(json!({"cnf": {"jkt": dpop.jkt}}));
        let traffic = Arc::new(Traffic {
            url: format!("{}/api/private", balancer.url()),
            bearer: issuer.token(),
            dpop,
            bound,
            nonce: Mutex::new(String::new()),
            sent: AtomicUsize::new(1),
            http,
        });
        let first = traffic.send().await;
        assert_eq!(first.result, Ok(401), "the first DPoP request learns the nonce");
        assert!(!traffic.nonce.lock().unwrap().is_empty());
        let capacity = capacity(&traffic, 32, Duration::from_secs(3)).await;
        let rate = capacity * LOAD_SHARE;
        println!("capacity through HAProxy: {capacity:.0} req/s; open-loop load: {rate:.0} req/s");
        Cluster { issuer, _redis: redis, envs, replicas, balancer, traffic, rate }
    }

    fn load(&self, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Sent>> {
        open_loop(Arc::clone(&self.traffic), self.rate, stop)
    }

    /// Restarts `replica` and waits until HAProxy has it back in rotation.
    async fn restart(&mut self, replica: usize) {
        self.replicas[replica] = Some(start_replica(self.envs[replica].clone()).await);
        self.balancer.wait_for(&self.traffic.http, replica, "UP").await;
    }
}

fn failures(sent: &[Sent]) -> Vec<&Sent> {
    sent.iter().filter(|sent| sent.result != Ok(200)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy and redis-server; .ci/run runs it"]
async fn rolling_restart_behind_haproxy_fails_no_request() {
    let mut cluster = Cluster::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = cluster.load(Arc::clone(&stop));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let roll_started = Instant::now();
    for replica in 0..REPLICAS {
        let running = cluster.replicas[replica].take().unwrap();
        running.signal("TERM");
        let (code, lines) =
            tokio::task::spawn_blocking(move || running.wait_for_exit(Duration::from_secs(10))).await.unwrap();
        assert_eq!(code, Some(0), "replica {replica} drains and exits 0: {lines:?}");
        cluster.restart(replica).await;
    }
    let roll = roll_started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = load.await.unwrap();

    let during: Vec<Sent> = sent.iter().filter(|sent| sent.at >= roll_started).cloned().collect();
    let failed = failures(&sent);
    println!(
        "rolling restart of {REPLICAS} replicas in {:.1} s: {} requests ({} during the roll), {} failed; \
         p50 {:.1} ms, p99 {:.1} ms during the roll",
        roll.as_secs_f64(),
        sent.len(),
        during.len(),
        failed.len(),
        percentile(&during, 0.5).as_secs_f64() * 1e3,
        percentile(&during, 0.99).as_secs_f64() * 1e3,
    );
    assert!(during.len() as f64 >= cluster.rate * roll.as_secs_f64() * 0.9, "the load kept its rate");
    assert!(failed.is_empty(), "no request fails through a rolling restart: {:?}", &failed[..failed.len().min(10)]);

    // A proof accepted by one replica is refused by the others: they share the replay store.
    let http = &cluster.traffic.http;
    let proof = cluster.traffic.proof();
    let mut statuses = Vec::new();
    for running in cluster.replicas.iter().flatten() {
        let response = http
            .get(format!("http://{}/api/private", running.address))
            .header("authorization", format!("DPoP {}", cluster.traffic.bound))
            .header("dpop", &proof)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 401, 401], "a replayed proof is refused by every other replica");
    drop(cluster.issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs haproxy and redis-server; .ci/run runs it"]
async fn a_killed_replica_fails_at_most_its_requests_in_flight_and_its_share_until_detected() {
    let mut cluster = Cluster::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = cluster.load(Arc::clone(&stop));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = 1;
    let killed_at = Instant::now();
    cluster.replicas[victim].as_ref().unwrap().signal("KILL");
    cluster.balancer.wait_for(&cluster.traffic.http, victim, "DOWN").await;
    let detected = killed_at.elapsed();
    drop(cluster.replicas[victim].take());
    cluster.restart(victim).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = load.await.unwrap();

    // In flight on the victim at the kill: at most a third of the requests in flight then
    // (round robin), and those are at most the ones started within the slowest latency before it.
    let before: Vec<&Sent> = sent.iter().filter(|sent| sent.at < killed_at).collect();
    let slowest = before.iter().map(|sent| sent.latency).max().unwrap();
    let in_flight = before.iter().filter(|sent| sent.at + sent.latency >= killed_at).count();
    // HAProxy notices at its next probe: within one interval and one probe timeout.
    let detection = CHECK_INTER + CHECK_TIMEOUT;
    let share = cluster.rate / REPLICAS as f64 * detection.as_secs_f64();
    let bound = in_flight + share.ceil() as usize;
    let failed = failures(&sent);
    println!(
        "SIGKILL of one replica of {REPLICAS} at {:.0} req/s: {} of {} requests failed; bound {bound} \
         ({in_flight} in flight at the kill + {share:.0} for its share during {} ms of detection); \
         HAProxy marked it DOWN after {} ms; slowest answer before the kill {:.1} ms",
        cluster.rate,
        failed.len(),
        sent.len(),
        detection.as_millis(),
        detected.as_millis(),
        slowest.as_secs_f64() * 1e3,
    );
    assert!(failed.len() <= bound, "{} failures over the bound {bound}", failed.len());
}
