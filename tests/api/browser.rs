//! Swagger UI in a real browser: Debian's Chromium driven by playwright-core
//! (`tests/browser/swagger_ui.mjs`) against the binary running the development issuer.

use std::{path::PathBuf, process::Command};

use crate::helpers::Running;

#[test]
#[ignore = "needs Chromium (apt-get install chromium) and `npm ci` in tests/browser; .ci/run runs it"]
fn swagger_ui_authorizes_calls_and_keeps_the_token_across_a_reload() {
    let output_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&output_dir).unwrap();
    let screenshot = output_dir.join("swagger-ui.png");
    let _ = std::fs::remove_file(&screenshot);

    let running = Running::start(&[("PORT", "0")]);
    let status = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .arg("swagger_ui.mjs")
        .arg(format!("http://{}", running.address))
        .arg(&screenshot)
        .status()
        .expect("node runs");
    assert!(status.success(), "the Swagger UI session failed");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    println!("screenshot: {}", screenshot.display());
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium) and `npm ci` in tests/browser; .ci/run runs it"]
fn swagger_ui_logs_in_at_the_development_issuer() {
    let running = Running::start(&[("PORT", "0")]);
    log_in(&format!("http://{}", running.address), "dev", "alice", "swagger-login-dev.png");
}

/// Runs `tests/browser/swagger_login.mjs` against the docs at `base`, signing in as `sub` at
/// `provider`; the screenshot of the Authorize dialog goes to the test's temporary folder.
pub fn log_in(base: &str, provider: &str, sub: &str, screenshot: &str) {
    let output_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&output_dir).unwrap();
    let screenshot = output_dir.join(screenshot);
    let status = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .args(["swagger_login.mjs", base])
        .arg(&screenshot)
        .args([provider, sub])
        .status()
        .expect("node runs");
    assert!(status.success(), "the Swagger UI login at {provider} failed");
    println!("screenshot: {}", screenshot.display());
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium) and `npm ci` in tests/browser; .ci/run runs it"]
fn swagger_ui_logs_in_at_a_certified_openid_provider() {
    use std::io::{BufRead, BufReader};
    // The service's port first: the provider registers its redirect URI.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let redirect_uri = format!("http://127.0.0.1:{port}/docs/oauth-receiver.html");
    let mut provider = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .args(["oidc_provider.mjs", "swagger-ui", &redirect_uri, crate::helpers::AUDIENCE])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(provider.stdout.take().unwrap()).lines();
    let issuer = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("issuer ").map(str::to_owned))
        .expect("the provider prints its issuer");
    // Whatever else it prints is read, so it never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let running = Running::start(&[
        ("PORT", &port),
        ("AUTH0_ISSUER", &issuer),
        ("AUTH0_API_AUDIENCE", crate::helpers::AUDIENCE),
        ("APP_DOCS__CLIENT_ID", "swagger-ui"),
        ("APP_JWKS__RETRY_INITIAL", "100ms"),
    ]);
    let base = format!("http://{}", running.address);
    let spec_url = format!("{base}/openapi.json");
    let discovered = (0..100).any(|_| {
        let found = Command::new("curl").args(["-s", &spec_url]).output().is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout).contains(&format!("\"authorizationUrl\":\"{issuer}/auth\""))
        });
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        found
    });
    assert!(discovered, "the served spec never named the provider's authorization endpoint");
    log_in(&base, "oidc-provider", "alice", "swagger-login-oidc-provider.png");
    let _ = provider.kill();
    let _ = provider.wait();
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium) and `npm ci` in tests/browser; .ci/run runs it"]
fn swagger_ui_steps_up_to_a_multi_factor_sign_in_after_the_challenge() {
    let output_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&output_dir).unwrap();
    let screenshot = output_dir.join("swagger-step-up.png");
    let running = Running::start(&[("PORT", "0")]);
    let status = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .arg("swagger_step_up.mjs")
        .arg(format!("http://{}", running.address))
        .arg(&screenshot)
        .status()
        .expect("node runs");
    assert!(status.success(), "the step-up session in Swagger UI failed");
    println!("screenshot: {}", screenshot.display());
}
