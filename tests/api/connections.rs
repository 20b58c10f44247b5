//! One client cannot exhaust the service: connections that stall are closed on deadlines, the
//! connection cap sheds the longest-waiting one instead of failing accepts, and a huge body is
//! refused without being read. The built binary runs under a low open-files limit, as on a
//! machine with the common soft limit of 1,024.

use std::{
    io::{Read, Write},
    net::TcpStream as StdStream,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{AUDIENCE, Running, TestIssuer};

/// Long enough for the flood to be opened before the first partial head times out, even beside
/// the rest of the suite on two cores.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const IDLE_TIMEOUT: Duration = Duration::from_secs(6);
/// How late a deadline may close a connection on a loaded machine.
const SLACK: Duration = Duration::from_secs(2);
const PARTIAL: usize = 1_100;
const IDLE: usize = 100;

/// How each connection of a flood ended.
#[derive(Debug, Default)]
struct Flood {
    /// Partial heads answered 408 within the window after the header timeout.
    timed_out_with_408: usize,
    /// Partial heads closed early without an answer: shed to make room.
    shed: usize,
    /// Kept-alive connections closed within the window after the idle timeout.
    idle_closed: usize,
    /// Anything else, described.
    unexpected: Vec<String>,
    /// How long the normal request in the middle of the flood took.
    normal_request: Duration,
}

/// Reads until the peer closes; returns what arrived and when the close came.
async fn until_closed(mut stream: TcpStream) -> (Vec<u8>, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return (received, Instant::now()),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Opens `PARTIAL` connections that send half a request head, then `IDLE` that complete a
/// request and stay open, then makes a normal request; then waits for every connection to end.
async fn flood(address: &str) -> Flood {
    let opening = Instant::now();
    let mut partial = Vec::new();
    for _ in 0..PARTIAL {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(b"GET /api/public HTTP/1.1\r\nhost: flood\r\n").await.unwrap();
        partial.push((stream, Instant::now()));
    }
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(b"GET /api/public HTTP/1.1\r\nhost: flood\r\n\r\n").await.unwrap();
        let mut response = Vec::new();
        let mut buffer = [0; 1024];
        while !response.ends_with(br#"{"message":"Hello, World!"}"#) {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "an idle connection's request was answered");
            response.extend_from_slice(&buffer[..read]);
        }
        idle.push((stream, Instant::now()));
    }

    let opened = opening.elapsed();
    assert!(opened < HEADER_TIMEOUT, "opening the flood took {opened:?}, past the header timeout");
    let started = Instant::now();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let normal = client.get(format!("http://{address}/api/public")).send().await.expect("a normal request is served");
    assert_eq!(normal.status(), 200);
    let mut outcome = Flood { normal_request: started.elapsed(), ..Flood::default() };

    let partial: Vec<_> = partial
        .into_iter()
        .map(|(stream, opened)| tokio::spawn(async move { (until_closed(stream).await, opened) }))
        .collect();
    let idle: Vec<_> = idle
        .into_iter()
        .map(|(stream, answered)| tokio::spawn(async move { (until_closed(stream).await, answered) }))
        .collect();
    for task in partial {
        let ((received, closed), opened) = task.await.unwrap();
        let after = closed - opened;
        let text = String::from_utf8_lossy(&received);
        if text.starts_with("HTTP/1.1 408 Request Timeout")
            && text.contains(r#""error":"request_timeout""#)
            && after >= HEADER_TIMEOUT - Duration::from_millis(50)
            && after <= HEADER_TIMEOUT + SLACK
        {
            outcome.timed_out_with_408 += 1;
        } else if received.is_empty() && after < HEADER_TIMEOUT {
            outcome.shed += 1;
        } else {
            outcome.unexpected.push(format!("partial head closed after {after:?} with {text:?}"));
        }
    }
    for task in idle {
        let ((received, closed), answered) = task.await.unwrap();
        let after = closed - answered;
        if received.is_empty() && after >= IDLE_TIMEOUT - Duration::from_millis(50) && after <= IDLE_TIMEOUT + SLACK {
            outcome.idle_closed += 1;
        } else {
            outcome.unexpected.push(format!("idle connection closed after {after:?} with {received:?}"));
        }
    }
    outcome
}

/// A counter of the service's `/metrics`.
async fn counter(address: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{address}/metrics")).await.unwrap().text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

/// Short timeouts, and a test issuer, so that every connection to the service is the test's.
fn limits_env(issuer: &TestIssuer) -> Vec<(&str, &str)> {
    vec![
        ("PORT", "0"),
        ("APP_SERVER__HEADER_TIMEOUT", "5s"),
        ("APP_SERVER__IDLE_TIMEOUT", "6s"),
        ("AUTH0_ISSUER", &issuer.url),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_idle_connections_are_closed_on_time_and_never_lock_out_a_normal_request() {
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(own_limit > (PARTIAL + IDLE + 100) as u64, "the test needs {} open files, has {own_limit}", PARTIAL + IDLE);
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    let issuer = TestIssuer::start().await;

    // The common soft limit of 1,024, which the service raises to the hard limit.
    let running = Running::start_with_open_files(&limits_env(&issuer), 1024, hard);
    let cap = 4096.min(hard.saturating_sub(64)) as usize;
    assert!(running.printed(&format!("started at 1024); at most {cap} connections")), "the raised limit is logged");
    let outcome = flood(&running.address).await;
    println!("soft limit 1,024, hard {hard}: {outcome:?}");
    assert!(outcome.unexpected.is_empty(), "{:#?}", outcome.unexpected);
    assert!(outcome.normal_request < Duration::from_secs(1));
    assert_eq!(outcome.idle_closed, IDLE, "every idle connection closed after the idle timeout");
    let expected_shed = (PARTIAL + IDLE + 1).saturating_sub(cap);
    assert_eq!(outcome.shed, expected_shed);
    assert_eq!(outcome.timed_out_with_408, PARTIAL - expected_shed);
    let header_timeouts = counter(&running.address, "http_connections_header_timeouts_total").await;
    assert_eq!(header_timeouts as usize, outcome.timed_out_with_408);
    drop(running);

    // A hard limit of 1,024 too: the cap is lowered to fit, and the flood sheds the oldest.
    let running = Running::start_with_open_files(&limits_env(&issuer), 1024, 1024);
    assert!(running.printed("at most 960 connections"), "the cap fits under the limit");
    assert!(running.printed("server.max_connections = 4096 does not fit under the open-files limit 1024"));
    let outcome = flood(&running.address).await;
    println!("soft and hard limit 1,024: {outcome:?}");
    assert!(outcome.unexpected.is_empty(), "{:#?}", outcome.unexpected);
    assert!(outcome.normal_request < Duration::from_secs(1));
    assert_eq!(outcome.idle_closed, IDLE, "the idle connections, younger than the partial ones, are kept");
    assert_eq!(outcome.shed, PARTIAL + IDLE + 1 - 960);
    assert_eq!(outcome.timed_out_with_408, 960 - IDLE - 1);
    let shed = counter(&running.address, "http_connections_shed_total").await as usize;
    assert_eq!(shed, outcome.shed, "the service counted the connections it shed");
    assert_eq!(counter(&running.address, "http_connections_refused_total").await, 0.0);
}

/// Sends `head`, then up to 300 MB of body in the background; returns the answer's first bytes
/// and how much of the body the service let through before closing.
fn send_huge_body(address: &str, head: &str, chunked: bool) -> (String, usize) {
    const TOTAL: usize = 300 * 1024 * 1024;
    let mut stream = StdStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let piece = vec![b'a'; 64 * 1024];
        let chunk: Vec<u8> = [format!("{:x}\r\n", piece.len()).into_bytes(), piece.clone(), b"\r\n".to_vec()].concat();
        let mut sent = 0;
        while sent < TOTAL {
            let bytes = if chunked { &chunk } else { &piece };
            if writer.write_all(bytes).is_err() {
                break;
            }
            sent += piece.len();
        }
        sent
    });
    let mut answer = vec![0; 2048];
    let read = stream.read(&mut answer).unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    (answer, sender.join().unwrap())
}

#[tokio::test]
async fn a_300_mb_body_gets_413_and_is_never_read_whole() {
    let running = Running::start(&[("PORT", "0")]);
    let url = format!("http://{}/dev/token", running.address);
    let warm = reqwest::Client::new().post(&url).form(&[("scope", "read:messages")]).send().await.unwrap();
    assert_eq!(warm.status(), 200);
    let before = running.rss();

    let address = running.address.clone();
    let (with_length, without_length) = tokio::task::spawn_blocking(move || {
        let declared = format!(
            "POST /dev/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
            300 * 1024 * 1024
        );
        let chunked = "POST /dev/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n";
        (send_huge_body(&address, &declared, false), send_huge_body(&address, chunked, true))
    })
    .await
    .unwrap();
    let after = running.rss();

    for (answer, sent) in [&with_length, &without_length] {
        assert!(answer.starts_with("HTTP/1.1 413 Payload Too Large"), "{answer}");
        assert!(
            answer.contains(
                r#"{"error":"content_too_large","error_description":"the request body is larger than 16384 bytes"}"#
            ),
            "{answer}"
        );
        assert!(*sent < 300 * 1024 * 1024, "the service closed the connection instead of reading it all");
    }
    let growth = after.saturating_sub(before);
    println!(
        "RSS {before} -> {after} bytes (+{growth}); body bytes let through before the close: {} (Content-Length), {} (chunked)",
        with_length.1, without_length.1
    );
    assert!(growth < 10 * 1024 * 1024, "RSS grew by {growth} bytes");
}

/// Opens a connection that sends a token request's head and ten bytes of its 100-byte body,
/// then nothing; returns it once the service has read the head.
async fn stalled_body(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let head = "POST /dev/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nscope=read";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_and_its_connection_is_shed_like_an_idle_one() {
    const BODY_TIMEOUT: Duration = Duration::from_secs(2);
    // The idle timeout closes the service's own kept-alive connection to its development issuer
    // (its key fetch) before the cap is tested.
    let env = [
        ("PORT", "0"),
        ("APP_SERVER__BODY_TIMEOUT", "2s"),
        ("APP_SERVER__IDLE_TIMEOUT", "1s"),
        ("APP_SERVER__MAX_CONNECTIONS", "2"),
    ];
    let running = Running::start(&env);
    let address = running.address.clone();

    let started = Instant::now();
    let (received, closed) = until_closed(stalled_body(&address).await).await;
    let after = closed - started;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408 Request Timeout"), "{text}");
    assert!(
        text.contains(
            r#"{"error":"request_timeout","error_description":"the request body was not received within 2s"}"#
        ),
        "{text}"
    );
    assert!(after >= BODY_TIMEOUT - Duration::from_millis(50) && after <= BODY_TIMEOUT + SLACK, "{after:?}");

    // Two connections wait for bodies that are not coming: at the cap of two, a new client gets
    // the place of the one that has waited the longest, which is closed at once.
    let first = stalled_body(&address).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = stalled_body(&address).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (first, second) = (tokio::spawn(until_closed(first)), tokio::spawn(until_closed(second)));
    let shed_at = Instant::now();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let normal = client.get(format!("http://{address}/api/public")).send().await.expect("a normal request is served");
    assert_eq!(normal.status(), 200);
    assert_eq!(normal.text().await.unwrap(), r#"{"message":"Hello, World!"}"#);
    let (received, closed) = first.await.unwrap();
    assert!(received.is_empty() && closed - shed_at < Duration::from_secs(1), "the oldest was shed, unanswered");
    let (received, _) = second.await.unwrap();
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 408"), "the other one timed out");
    let metrics = client.get(format!("http://{address}/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |name: &str| metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')).unwrap_or("");
    assert_eq!(value("http_connections_shed_total"), "1");
    assert_eq!(value("http_connections_body_timeouts_total"), "2");
}
