//! DPoP proofs made by an independent implementation, panva's `dpop` package for Node.js
//! (`tests/interop/dpop_client.mjs`), against the binary running the development issuer, with and
//! without server nonces. The generated Python client does the same with joserfc's proofs
//! (`client.rs`).

use std::process::Command;

use crate::helpers::Running;

/// The development issuer with DPoP nonces required (shared by the Python client's session).
pub const NONCES_REQUIRED: [(&str, &str); 3] = [
    ("PORT", "0"),
    ("APP_DPOP__NONCE", "required"),
    ("APP_DPOP__NONCE_SECRET", "a secret of the interop sessions, 32 bytes or more"),
];

#[test]
#[ignore = "needs `npm ci` in tests/interop; .ci/run runs it"]
fn proofs_made_by_panva_dpop_are_accepted_once() {
    let running = Running::start(&[("PORT", "0")]);
    let status = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop"))
        .arg("dpop_client.mjs")
        .arg(format!("http://{}", running.address))
        .status()
        .expect("node runs");
    assert!(status.success(), "the dpop package's session failed");
}

#[test]
#[ignore = "needs `npm ci` in tests/interop; .ci/run runs it"]
fn with_nonces_required_panva_dpop_proofs_carry_the_nonce_after_one_retry() {
    let running = Running::start(&NONCES_REQUIRED);
    let status = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop"))
        .args(["dpop_client.mjs", &format!("http://{}", running.address), "nonce"])
        .status()
        .expect("node runs");
    assert!(status.success(), "the dpop package's session with nonces failed");
}
