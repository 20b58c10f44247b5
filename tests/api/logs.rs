//! The service's log lines under hostile input and a log pipe that nobody reads: control
//! characters never forge a line, values copied from a token are bounded, and a stalled stdout
//! never stops the service (`log_when_full = drop`) or loses a line (`wait`), while the probes
//! answer either way.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, ChildStdout, Stdio},
    time::Duration,
};

use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::{AUDIENCE, SigningKey, TestIssuer, service_command};

/// The binary with stdout piped, once it logged its address; stdout is then read by nobody
/// until [`Stalled::drain`].
struct Stalled {
    child: Child,
    address: String,
    stdout: BufReader<ChildStdout>,
}

impl Stalled {
    fn start(env: &[(&str, &str)]) -> Self {
        let mut child = service_command(env).env("NO_COLOR", "1").stdout(Stdio::piped()).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let address = loop {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the service logs its address");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        Stalled { child, address, stdout }
    }

    /// Reads stdout from now on, in a thread; the text read is returned when the process ends.
    fn drain(self) -> (Child, std::thread::JoinHandle<String>) {
        let mut stdout = self.stdout;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        (self.child, reader)
    }
}

/// A refused token whose `kid` (1,000 characters) is echoed into its access line.
fn long_kid_token(issuer: &TestIssuer) -> String {
    SigningKey::fixture("attacker").with_kid(&"k".repeat(1_000)).sign(&issuer.claims())
}

/// Sends `count` requests to `path` with `token`, 32 at a time; returns how many were answered.
async fn send(address: &str, path: &str, token: &str, count: usize) -> usize {
    let client = reqwest::Client::new();
    let url = format!("http://{address}{path}");
    let mut answered = 0;
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let request = client.get(&url).bearer_auth(token).timeout(Duration::from_secs(120));
        tasks.spawn(async move { request.send().await.is_ok() });
        if n >= 32 {
            answered += usize::from(tasks.join_next().await.unwrap().unwrap());
        }
    }
    while let Some(done) = tasks.join_next().await {
        answered += usize::from(done.unwrap());
    }
    answered
}

async fn status(address: &str, path: &str) -> u16 {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    client.get(format!("http://{address}{path}")).send().await.map_or(0, |response| response.status().as_u16())
}

/// A path of 8,000 characters, which nothing serves: its access line (404) holds the path whole,
/// so 2,000 of them overflow the 8 MiB log buffer and the pipe behind it.
fn long_path() -> String {
    format!("/{}", "p".repeat(8_000))
}

const OVERFLOW: usize = 2_000;

fn production(issuer: &TestIssuer) -> Vec<(&str, &str)> {
    vec![("APP_PROFILE", "production"), ("AUTH0_ISSUER", &issuer.url), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_log_pipe_drops_and_counts_lines_and_the_service_keeps_answering() {
    let issuer = TestIssuer::start().await;
    let stalled = Stalled::start(&production(&issuer));
    let address = stalled.address.clone();
    assert_eq!(send(&address, &long_path(), "t", OVERFLOW).await, OVERFLOW, "every request answered");
    assert_eq!(send(&address, "/api/private", &long_kid_token(&issuer), 100).await, 100);
    assert_eq!(status(&address, "/healthz").await, 200);
    let metrics = reqwest::get(format!("http://{address}/metrics")).await.unwrap().text().await.unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("log_lines_dropped_total ")?.parse().ok())
        .expect("log_lines_dropped_total");
    assert!(dropped > 0, "{metrics}");

    let (mut child, reader) = stalled.drain();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&address, "/api/public").await, 200);
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().unwrap();
    let text = reader.join().unwrap();
    let notices: Vec<&str> = text.lines().filter(|line| line.contains("log lines dropped")).collect();
    assert_eq!(notices.len(), 1, "one warning line for the whole stall");
    let notice: serde_json::Value = serde_json::from_str(notices[0]).unwrap();
    assert_eq!(notice["level"], "WARN");
    assert!(notice["dropped_lines"].as_u64().unwrap() >= dropped, "{notice}");
    let refusals: Vec<&str> = text.lines().filter(|line| line.contains(r#""status":401"#)).collect();
    let longest = refusals.iter().map(|line| line.len()).max().unwrap_or(0);
    assert!(longest < 700, "a value copied from a token is cut: the longest refusal line has {longest} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_waiting_no_line_is_lost_and_the_probes_answer_while_stdout_is_stuck() {
    let issuer = TestIssuer::start().await;
    let mut env = production(&issuer);
    env.push(("APP_LOG_WHEN_FULL", "wait"));
    let stalled = Stalled::start(&env);
    let address = stalled.address.clone();
    let flood = {
        let address = address.clone();
        tokio::spawn(async move { send(&address, &long_path(), "t", OVERFLOW).await })
    };
    // Once the buffer is full, a request waits for room before its access line: it is not
    // answered within the two seconds `status` gives it. The probes are.
    let mut held = false;
    for _ in 0..30 {
        if status(&address, "/api/public").await == 0 {
            held = true;
            break;
        }
    }
    assert!(held && !flood.is_finished(), "requests wait while stdout is stuck");
    assert_eq!(status(&address, "/healthz").await, 200, "the liveness probe answers while requests wait");
    assert_eq!(status(&address, "/readyz").await, 200);

    let (mut child, reader) = stalled.drain();
    assert_eq!(flood.await.unwrap(), OVERFLOW, "every waiting request is answered once stdout moves");
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().unwrap();
    let text = reader.join().unwrap();
    let lines = text.lines().filter(|line| line.contains(r#""status":404"#)).count();
    assert_eq!(lines, OVERFLOW, "an access line for every request");
    let public = text.lines().filter(|line| line.contains(r#""path":"/api/public","status":200"#)).count();
    assert!(public >= 1, "the requests that waited have theirs too");
    assert!(!text.contains("log lines dropped"));
}

#[tokio::test]
async fn control_characters_from_a_token_never_forge_a_text_line() {
    let issuer = TestIssuer::start().await;
    let env = [("AUTH0_ISSUER", issuer.url.as_str()), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")];
    let stalled = Stalled::start(&env);
    let address = stalled.address.clone();
    let forged = "x\r\n2026-12-02T00:00:00.000000Z  INFO forged line\u{1b}[2J";
    let token = SigningKey::fixture("attacker").with_kid(forged).sign(&issuer.claims());
    let iss = issuer.primary.sign(&crate::helpers::with_changes(issuer.claims(), json!({"iss": forged})));
    assert_eq!(send(&address, "/api/private", &token, 1).await, 1);
    assert_eq!(send(&address, "/api/private", &iss, 1).await, 1);
    let (mut child, reader) = stalled.drain();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().unwrap();
    let text = reader.join().unwrap();
    assert!(!text.lines().any(|line| line.starts_with("2026-12-02T00:00:00")), "{text}");
    assert!(!text.contains('\u{1b}'), "no terminal escape reaches the terminal");
    let refused: Vec<&str> = text.lines().filter(|line| line.contains("status=401")).collect();
    assert_eq!(refused.len(), 2, "{text}");
    assert!(refused[0].contains("signing key kid=x2026-12-02T00:00:00.000000Z  INFO forged line[2J is not"), "{text}");
}
