//! DPoP proofs made by an independent implementation, panva's `dpop` package for Node.js
//! (`tests/interop/dpop_client.mjs`), against the binary running the development issuer. The
//! generated Python client does the same with joserfc's proofs (`client.rs`).

use std::process::Command;

use crate::helpers::Running;

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
