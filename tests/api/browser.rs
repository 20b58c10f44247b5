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
