//! OpenTelemetry traces from the built binary to an OTLP/HTTP receiver the test starts
//! (tests/otlp/receiver.py, on the official opentelemetry-proto definitions): the spans arrive
//! under the trace and parent a `traceparent` names, nest as the token's path does, carry
//! `OTEL_SERVICE_NAME`, and the key fetches carry the trace on to the identity provider. No span
//! holds a token or a proof. The receiver needs Python's opentelemetry-proto and the DPoP span a
//! redis-server, which `cargo test` cannot install: `.ci/run` installs both and runs it. Bad
//! `OTEL_*` values are refused at start-up (runs in `cargo test`).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, DpopClient, RedisServer, Running, SigningKey, TestIssuer, service_command};

/// The receiver, printing each span it decodes as a JSON line; stopped when dropped.
struct Receiver {
    port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
    child: Child,
}

impl Receiver {
    fn start() -> Self {
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/receiver.py"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = lines
            .next()
            .expect("the receiver prints its port (pip install opentelemetry-proto; .ci/run does)")
            .unwrap()
            .parse()
            .unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&spans);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(serde_json::from_str(&line).unwrap());
            }
        });
        Receiver { port, spans, child }
    }

    /// Waits until `count` spans have arrived, then returns them all.
    fn spans(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        while self.spans.lock().unwrap().len() < count && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.spans.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The spans of one trace by span id.
struct Trace<'a>(HashMap<&'a str, &'a Value>);

impl<'a> Trace<'a> {
    fn of(spans: &'a [Value], trace_id: &str) -> Self {
        Trace(
            spans
                .iter()
                .filter(|span| span["trace_id"] == trace_id)
                .map(|span| (span["span_id"].as_str().unwrap(), span))
                .collect(),
        )
    }

    fn named(&self, name: &str) -> Vec<&'a Value> {
        self.0.values().filter(|span| span["name"] == name).copied().collect()
    }

    fn one(&self, name: &str) -> &'a Value {
        let spans = self.named(name);
        assert_eq!(
            spans.len(),
            1,
            "one {name} span in {:?}",
            self.0.values().map(|span| &span["name"]).collect::<Vec<_>>()
        );
        spans[0]
    }

    fn parent(&self, span: &Value) -> Option<&'a Value> {
        self.0.get(span["parent_span_id"].as_str().unwrap()).copied()
    }

    /// Whether `ancestor` is `span`'s parent, or its parent's, and so on.
    fn descends(&self, span: &Value, ancestor: &Value) -> bool {
        let mut current = self.parent(span);
        while let Some(parent) = current {
            if parent["span_id"] == ancestor["span_id"] {
                return true;
            }
            current = self.parent(parent);
        }
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Python's opentelemetry-proto and redis-server; .ci/run runs it"]
async fn spans_reach_an_otlp_receiver_under_the_callers_trace_and_key_fetches_carry_it_on() {
    let receiver = Receiver::start();
    let redis = RedisServer::start();
    let issuer = TestIssuer::start().await;
    // Credentials in the endpoint reach the collector, never the log.
    let endpoint = format!("http://collector:s3cr3t-password@127.0.0.1:{}", receiver.port);
    let store = redis.url();
    let running = Running::start(&[
        ("AUTH0_ISSUER", issuer.url.as_str()),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("PORT", "0"),
        ("APP_LOG_FORMAT", "json"),
        ("APP_DPOP__REPLAY_STORE", &store),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_SERVICE_NAME", "protected-api-under-test"),
    ]);
    let http = reqwest::Client::new();
    let base = format!("http://{}", running.address);
    let started = Instant::now();
    while http.get(format!("{base}/readyz")).send().await.unwrap().status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(10), "the service becomes ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fetched_before = issuer.traceparents().len();

    // A token signed by a key the service has not seen, published where the metadata now
    // points: the request re-reads discovery and fetches the moved key set.
    let rotated = SigningKey::fixture("rotated");
    issuer.move_key_set(&[issuer.primary.clone(), rotated.clone()]);
    let token = rotated.sign(&issuer.claims());
    let (trace, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let response = http
        .get(format!("{base}/api/private"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let dpop = DpopClient::new();
    let bound = issuer.token_with(json!({"cnf": {"jkt": dpop.jkt}}));
    let proof = dpop.proof("GET", &format!("{base}/api/private"), &bound);
    let dpop_trace = "0af7651916cd43dd8448eb211c80319c";
    let response = http
        .get(format!("{base}/api/private"))
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", &proof)
        .header("traceparent", format!("00-{dpop_trace}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(http.get(format!("{base}/api/public")).send().await.unwrap().status(), 200);

    let (code, lines) = running.terminate();
    assert_eq!(code, Some(0));
    let spans = receiver.spans(12);
    assert!(spans.iter().all(|span| span["service_name"] == "protected-api-under-test"), "{spans:?}");

    let first = Trace::of(&spans, trace);
    let request = first.one("GET /api/private");
    assert_eq!((request["kind"].as_str(), request["parent_span_id"].as_str()), (Some("server"), Some(caller)));
    let attributes = &request["attributes"];
    assert_eq!(attributes["http.request.method"], "GET");
    assert_eq!(attributes["http.route"], "/api/private");
    assert_eq!(attributes["url.path"], "/api/private");
    assert_eq!(attributes["http.response.status_code"], 200);
    let verify = first.one("verify_token");
    assert_eq!(first.parent(verify).map(|span| &span["span_id"]), Some(&request["span_id"]));
    let fetch = first.named("fetch_keys");
    assert!(!fetch.is_empty() && fetch.iter().all(|span| first.descends(span, verify)), "key fetches under the check");
    let discovery = first.one("discover_keys_url");
    assert!(fetch.iter().any(|span| first.descends(discovery, span)), "discovery under a key fetch");
    let gets = first.named("GET");
    assert!(gets.len() >= 3, "the old key set, the metadata, the moved key set: {gets:?}");
    assert!(gets.iter().all(|get| get["kind"] == "client" && fetch.iter().any(|span| first.descends(get, span))));
    assert!(gets.iter().any(|get| first.parent(get).is_some_and(|parent| parent["span_id"] == discovery["span_id"])));

    // The identity provider saw the trace: each fetch names its own client span as parent.
    let sent: Vec<String> = issuer.traceparents()[fetched_before..].to_vec();
    assert_eq!(sent.len(), gets.len(), "{sent:?}");
    for traceparent in &sent {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!((parts[0], parts[1], parts[3]), ("00", trace, "01"), "{traceparent}");
        assert!(gets.iter().any(|get| get["span_id"] == parts[2]), "{traceparent} names a GET span");
    }

    let second = Trace::of(&spans, dpop_trace);
    let redis_span = second.one("SET");
    assert_eq!(redis_span["kind"], "client");
    assert_eq!(redis_span["attributes"]["db.system.name"], "redis");
    assert!(second.descends(redis_span, second.one("GET /api/private")), "the Redis call under its request");

    let public = spans.iter().find(|span| span["name"] == "GET /api/public").expect("a root span for /api/public");
    assert_eq!(public["parent_span_id"], "", "no traceparent: a new trace");

    let secrets = [token.as_str(), bound.as_str(), proof.as_str()];
    for span in &spans {
        let text = span["attributes"].to_string();
        assert!(secrets.iter().all(|secret| !text.contains(secret)) && !text.contains("eyJ"), "{text}");
    }
    assert!(lines.iter().any(|line| line.contains("traces: OTLP/HTTP to http://127.0.0.1:")), "{lines:?}");
    assert!(lines.iter().all(|line| !line.contains("s3cr3t-password")), "the endpoint's password is never logged");
    let access: Vec<Value> = lines.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let traced = access.iter().find(|line| line["message"] == "response" && line["trace_id"] == trace);
    assert!(traced.is_some_and(|line| line["path"] == "/api/private"), "the access line carries the trace id");
}

#[test]
fn bad_otel_values_are_refused_at_start_up_naming_the_variable() {
    let output = service_command(&[
        ("PORT", "0"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "one percent"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(r#"OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not built into this service: use http/protobuf"#),
        "{stderr}"
    );
    assert!(stderr.contains(r#"OTEL_TRACES_SAMPLER_ARG: "one percent" is not a ratio from 0 to 1"#), "{stderr}");
}
