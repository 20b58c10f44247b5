//! DPoP proofs made by an independent implementation, panva's `dpop` package for Node.js
//! (`tests/interop/dpop_client.mjs`), against the binary running the development issuer, with and
//! without server nonces. The generated Python client does the same with joserfc's proofs
//! (`client.rs`). Encrypted access tokens made by panva's `jose` (each refusal case) and issued by
//! panva's `oidc-provider` (its `jwt.encrypt` option), through `tests/browser/jwe.mjs`.

use std::process::Command;

use crate::helpers::{AUDIENCE, EncryptionKey, Running, TestApp, TestIssuer, answer};

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

/// Runs `tests/browser/jwe.mjs` with `args` to its end, and returns what it printed.
fn jwe_script(args: &[&str]) -> String {
    let output = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .arg("jwe.mjs")
        .args(args)
        .output()
        .expect("node runs");
    assert!(output.status.success(), "jwe.mjs failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
#[ignore = "needs `npm ci` in tests/browser; .ci/run runs it"]
async fn jwes_made_by_panva_jose_are_accepted_or_refused_as_they_should_be() {
    let issuer = TestIssuer::start().await;
    let key = EncryptionKey::generate("jose-key");
    let other = EncryptionKey::generate("other");
    let path = key.pem_path.display().to_string();
    let app = TestApp::spawn_with(&issuer, |figment| {
        figment.merge(figment::providers::Serialized::default("auth0.decryption_keys", [path]))
    })
    .await;
    let printed = jwe_script(&[
        "cases",
        &key.public_pem_path.display().to_string(),
        &key.kid,
        &other.public_pem_path.display().to_string(),
        &issuer.token(),
    ]);
    let cases: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let call = |name: &str| {
        let token = cases[name].as_str().unwrap_or_else(|| panic!("jose made no {name} JWE")).to_owned();
        let app = &app;
        async move { answer(app.get_with_token("/api/private-scoped", &token).await).await }
    };
    for accepted in ["accepted", "no_kid"] {
        let granted = call(accepted).await;
        assert_eq!(granted.status, 200, "{accepted}: {}", granted.body);
    }
    let refusals = [
        ("wrong_key", "the encrypted token cannot be decrypted with this API's keys"),
        ("corrupted_tag", "the encrypted token cannot be decrypted with this API's keys"),
        ("rsa1_5", "encrypted with alg RSA1_5 and enc A256GCM: this API accepts RSA-OAEP-256 with A256GCM"),
        ("dir", "encrypted with alg dir and enc A256GCM"),
        ("a128gcm", "encrypted with alg RSA-OAEP-256 and enc A128GCM"),
        ("rsa_oaep_sha1", "encrypted with alg RSA-OAEP and enc A256GCM"),
        ("compressed", "the encrypted token is compressed (zip)"),
        ("no_cty", "the encrypted token's cty is absent"),
        ("unsigned", "the token's algorithm none is not accepted"),
    ];
    for (name, reason) in refusals {
        call(name).await.assert_invalid_token(reason);
    }
}

#[tokio::test]
#[ignore = "needs `npm ci` in tests/browser; .ci/run runs it"]
async fn encrypted_access_tokens_of_panva_oidc_provider_are_accepted() {
    use std::io::{BufRead, BufReader};
    let key = EncryptionKey::generate("provider-key");
    let mut provider = Command::new("node")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .args(["jwe.mjs", "provider", AUDIENCE, &key.public_pem_path.display().to_string(), &key.kid])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(provider.stdout.take().unwrap()).lines().map_while(Result::ok);
    let issuer = lines.by_ref().find_map(|line| line.strip_prefix("issuer ").map(str::to_owned)).expect("an issuer");
    let token = lines.find_map(|line| line.strip_prefix("token ").map(str::to_owned)).expect("a token");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (header["alg"].as_str(), header["enc"].as_str(), header["cty"].as_str()),
        (Some("RSA-OAEP-256"), Some("A256GCM"), Some("at+jwt"))
    );
    let keys = format!("[\"{}\"]", key.pem_path.display());
    let running = Running::start(&[
        ("PORT", "0"),
        ("AUTH0_ISSUER", &issuer),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("APP_AUTH0__TOKEN_PROFILE", "rfc9068"),
        ("APP_AUTH0__DECRYPTION_KEYS", &keys),
    ]);
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/private-scoped", running.address);
    let granted = answer(client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["data"]["iss"], issuer.as_str());
    assert_eq!(granted.body["data"]["client_id"], "machine");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(..1, flipped);
    let tampered = parts.join(".");
    let refused = answer(client.get(&url).bearer_auth(&tampered).send().await.unwrap()).await;
    assert_eq!(
        (refused.status, refused.body["error_description"].as_str()),
        (401, Some("the encrypted token cannot be decrypted with this API's keys"))
    );
    let _ = provider.kill();
    let _ = provider.wait();
}
