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
