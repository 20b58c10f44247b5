//! The drain after SIGTERM, on the built binary over raw connections: readiness fails at once,
//! serving goes on for `server.shutdown_delay` with every answer closing its connection, then
//! accepting stops, the request in flight finishes, and the process exits 0 within
//! `server.shutdown_timeout`, even when stdout is stuck.

use std::{
    net::TcpListener as StdListener,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Running, service_command, signal};

/// Long enough for the checks made during it, beside the rest of the suite on two cores.
const DELAY: Duration = Duration::from_secs(3);
/// How late the process may be on a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

/// One answer read off a kept-alive connection: its status, its headers (lower-case names) and
/// its body.
struct RawAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Reads one answer with a `Content-Length` body from `stream`.
async fn read_answer(stream: &mut TcpStream) -> RawAnswer {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
            let headers: Vec<(String, String)> = lines
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            let length: usize = headers.iter().find(|(name, _)| name == "content-length").unwrap().1.parse().unwrap();
            while received.len() < end + 4 + length {
                let read = stream.read(&mut buffer).await.unwrap();
                assert!(read > 0, "the connection closed in the middle of an answer");
                received.extend_from_slice(&buffer[..read]);
            }
            let body = String::from_utf8_lossy(&received[end + 4..end + 4 + length]).into_owned();
            return RawAnswer { status, headers, body };
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
        assert!(read > 0, "the connection closed before an answer");
        received.extend_from_slice(&buffer[..read]);
    }
}

async fn get(stream: &mut TcpStream, path: &str, token: &str) -> RawAnswer {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_answer(stream).await
}

/// Whether the peer closed `stream` (reads end) within a few seconds.
async fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    matches!(tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn sigterm_fails_readiness_serves_for_the_delay_then_finishes_the_request_in_flight() {
    let running = Running::start(&[
        ("PORT", "0"),
        ("APP_LOG_FORMAT", "json"),
        ("APP_SERVER__SHUTDOWN_DELAY", "3s"),
        ("APP_SERVER__SHUTDOWN_TIMEOUT", "10s"),
    ]);
    let address = running.address.clone();
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("http://{address}/dev/token"))
        .form(&[("sub", "drain")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    let mut kept_alive = TcpStream::connect(&address).await.unwrap();
    let before = get(&mut kept_alive, "/api/private", &token).await;
    assert_eq!((before.status, before.header("connection")), (200, None), "kept alive before the signal");
    let body = "scope=read%3Amessages&sub=drain";
    let mut in_flight = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /dev/token HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    running.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let readiness = client.get(format!("http://{address}/readyz")).send().await.unwrap();
    assert_eq!(readiness.status(), 503, "readiness fails at once");
    assert_eq!(readiness.headers()["connection"], "close");
    let readiness: Value = readiness.json().await.unwrap();
    assert_eq!(
        (readiness["status"].as_str(), readiness["reason"].as_str()),
        (Some("not_ready"), Some("shutting_down"))
    );
    let liveness = client.get(format!("http://{address}/healthz")).send().await.unwrap();
    assert_eq!(liveness.status(), 200, "liveness stays up through the drain");
    let during = get(&mut kept_alive, "/api/private", &token).await;
    assert_eq!(during.status, 200, "requests are still served during the delay: {}", during.body);
    assert_eq!(during.header("connection"), Some("close"), "the answer closes the kept-alive connection");
    assert!(closed_by_peer(&mut kept_alive).await, "the connection is closed after that answer");
    assert!(signalled.elapsed() < DELAY, "checked within the delay; the machine is too slow for this test");

    tokio::time::sleep(DELAY + Duration::from_millis(500) - signalled.elapsed()).await;
    assert!(TcpStream::connect(&address).await.is_err(), "after the delay, connections are refused");
    in_flight.write_all(&body.as_bytes()[10..]).await.unwrap();
    let finished = read_answer(&mut in_flight).await;
    assert_eq!(finished.status, 200, "the request in flight finishes: {}", finished.body);
    assert!(finished.body.contains("access_token"));
    assert_eq!(finished.header("connection"), Some("close"));

    let (code, lines) = running.wait_for_exit(SLACK);
    assert_eq!(code, Some(0), "exits 0 once the request in flight is done");
    assert!(signalled.elapsed() >= DELAY);
    let logged: Vec<Value> = lines.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let said =
        |text: &str| logged.iter().any(|line| line["message"].as_str().is_some_and(|message| message.contains(text)));
    assert!(said("draining: /readyz answers 503") && said("no longer accepting connections") && said("stopped"));
    let token_lines = logged.iter().filter(|line| line["message"] == "response" && line["path"] == "/dev/token");
    assert_eq!(token_lines.count(), 2, "both token requests have their access line");
}

/// A free port on loopback, for a process whose stdout nobody reads (so it cannot say which).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_request_past_the_grace_period_and_a_stuck_stdout_never_keep_the_process_from_exiting() {
    let port = free_port().to_string();
    let mut command = service_command(&[
        ("PORT", port.as_str()),
        ("APP_SERVER__SHUTDOWN_TIMEOUT", "1s"),
        ("APP_SERVER__BODY_TIMEOUT", "60s"),
        ("APP_LOG_WHEN_FULL", "drop"),
    ]);
    // stdout is a pipe nobody reads: once it is full the log writer blocks for good.
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let address = format!("127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("http://{address}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the service starts");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..2_000 {
        assert_eq!(client.get(format!("http://{address}/api/public")).send().await.unwrap().status(), 200);
    }
    let mut stalled = TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(b"POST /dev/token HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nsub=")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    signal(&child, "TERM");
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(1) + SLACK, "the process exits within the grace period");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(exit.code(), Some(0));
    assert!(signalled.elapsed() >= Duration::from_secs(1), "the stalled request had the whole grace period");
    assert!(closed_by_peer(&mut stalled).await, "the stalled request's connection is closed");
}
