//! The built binary, started the way a person starts it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::helpers::{AUDIENCE, TestIssuer};

fn service(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_protected-api"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).env_clear().envs(env.iter().copied());
    command
}

#[test]
fn missing_configuration_exits_2_naming_the_variables() {
    let output = service(&[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("configuration error: invalid configuration (2 problems)"), "{stderr}");
    assert!(stderr.contains("set AUTH0_DOMAIN") && stderr.contains("set AUTH0_API_AUDIENCE"), "{stderr}");
}

#[test]
fn openapi_prints_the_spec() {
    let output = service(&[]).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "protected-api");
    let yaml = service(&[]).args(["openapi", "--yaml"]).output().unwrap();
    assert!(String::from_utf8(yaml.stdout).unwrap().starts_with("openapi: 3.0.0"));
}

/// The running binary; killed if a test ends before it stops by itself.
struct Running {
    child: Child,
    address: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the binary and waits for the address it logs.
fn start(env: &[(&str, &str)]) -> Running {
    let mut child = service(env).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut running = Running { child, address: String::new(), lines };
    while running.address.is_empty() {
        let line = running.lines.recv_timeout(Duration::from_secs(20)).expect("the service logs its address");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            running.address = rest.split('/').next().unwrap().to_owned();
        }
    }
    running
}

#[tokio::test]
async fn serves_until_sigterm_then_stops_cleanly() {
    let issuer = TestIssuer::start().await;
    let env =
        [("AUTH0_ISSUER", issuer.url.as_str()), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0"), ("NO_COLOR", "1")];
    let mut running = start(&env);
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/private", running.address);
    let response = client.get(url).bearer_auth(issuer.token()).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let status = Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut exit = None;
    for _ in 0..100 {
        exit = running.child.try_wait().unwrap();
        if exit.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(exit.and_then(|status| status.code()), Some(0), "the service stops cleanly on SIGTERM");
    let logged: Vec<String> = running.lines.iter().collect();
    assert!(logged.iter().any(|line| line.contains("shutdown signal received")), "{logged:?}");
}
