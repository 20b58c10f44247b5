//! The crates' examples, run as a user runs them: `crates/poem-jwt-resource-server/examples/`
//! built by `cargo test --workspace`, started with the tutorial's environment against a test
//! issuer. The tutorial answers the refusal table of the service — every way a token or a
//! request is refused — with the same status, body and challenge; the second example shows
//! custom claims, optional authentication and a DPoP-only route.

use std::{path::Path, process::Command};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use dpop_signer::DpopKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, Running, SigningKey, TestApp, TestIssuer, unix_now};

/// The example `name`, running with `env`.
fn example(name: &str, env: &[(&str, &str)]) -> Running {
    let binary = Path::new(env!("CARGO_BIN_EXE_protected-api")).with_file_name("examples").join(name);
    assert!(binary.exists(), "{} is missing: `cargo test --workspace` builds the examples", binary.display());
    let mut command = Command::new(binary);
    command.env_clear().envs(env.iter().copied());
    Running::spawn(command)
}

/// One refused request: to `path`, with these `Authorization` header values.
struct Case {
    what: &'static str,
    path: &'static str,
    authorization: Vec<String>,
}

fn case(what: &'static str, path: &'static str, authorization: &[&str]) -> Case {
    Case { what, path, authorization: authorization.iter().map(|value| (*value).to_owned()).collect() }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Every way the service refuses a request to a protected operation that does not depend on
/// its settings, as `tests/api/tokens.rs` and `tests/api/routes.rs` check them one by one.
fn refusals(issuer: &TestIssuer) -> Vec<Case> {
    let now = unix_now();
    let key = &issuer.primary;
    let claims = issuer.claims().to_string();
    let signed = |header: &str| key.sign_raw(header, &claims);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"primary"}"#),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let public_pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/primary.pub.pem")).unwrap();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some("primary".into());
    let confused = jsonwebtoken::encode(&hs256, &issuer.claims(), &EncodingKey::from_secret(&public_pem)).unwrap();
    let tokens = [
        ("expired", issuer.token_with(json!({"exp": 1_795_687_200, "iat": 1_795_683_600}))),
        ("not yet valid", issuer.token_with(json!({"nbf": now + 600}))),
        ("issued in the future", issuer.token_with(json!({"iat": now + 600}))),
        ("another audience", issuer.token_with(json!({"aud": "https://other.example.com"}))),
        ("no audience", issuer.token_with(json!({"aud": null}))),
        ("an issuer spelt otherwise", issuer.token_with(json!({"iss": issuer.url.trim_end_matches('/')}))),
        ("no issuer", issuer.token_with(json!({"iss": null}))),
        ("no expiry", issuer.token_with(json!({"exp": null}))),
        ("a claim of the wrong type", issuer.token_with(json!({"exp": "tomorrow"}))),
        ("bound to a key, sent as bearer", issuer.token_with(json!({"cnf": {"jkt": "x".repeat(43)}}))),
        ("signed by another key", SigningKey::fixture("attacker").with_kid("primary").sign(&issuer.claims())),
        ("a kid the issuer does not have", SigningKey::fixture("attacker").with_kid("attacker").sign(&issuer.claims())),
        ("alg none", unsigned),
        ("HS256 with the public key", confused),
        ("a crit header", signed(r#"{"alg":"RS256","kid":"primary","crit":["exp"],"exp":1}"#)),
        ("a header member twice", signed(r#"{"alg":"RS256","kid":"primary","kid":"other"}"#)),
        ("opaque", "8TlaJ2vIZk3QhR1c0ZbT6A_not_a_jwt".to_owned()),
        ("encrypted", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aGVsbG8.d29ybGQ.dGFn".to_owned()),
        ("malformed", "abc.def.ghi".to_owned()),
        ("over 16 KiB", issuer.token_with(json!({"padding": "x".repeat(20_000)}))),
    ];
    let mut cases: Vec<Case> = tokens
        .iter()
        .map(|(what, token)| Case { what, path: "/api/private", authorization: vec![bearer(token)] })
        .collect();
    let valid = issuer.token();
    let unscoped = issuer.token_with(json!({"scope": "openid", "permissions": []}));
    cases.extend([
        case("no Authorization header", "/api/private", &[]),
        case("another scheme", "/api/private", &["Basic dXNlcjpwYXNz"]),
        case("DPoP, which this configuration does not take", "/api/private", &[&format!("DPoP {valid}")]),
        case("Bearer without a token", "/api/private", &["Bearer "]),
        case("two Authorization headers", "/api/private", &[&bearer(&valid), &bearer(&valid)]),
        case("a valid token without the scope", "/api/private-scoped", &[&bearer(&unscoped)]),
        case("no token where a scope is needed", "/api/private-scoped", &[]),
    ]);
    cases
}

/// The parts of an answer that must agree: status, body, and the challenge without its realm
/// and `resource_metadata` link (each deployment names its own).
async fn outcome(client: &reqwest::Client, url: String, authorization: &[String]) -> (u16, Value, Vec<String>) {
    let mut request = client.get(url);
    for value in authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap();
            let text = text.split(", resource_metadata=").next().unwrap();
            let (scheme, rest) = text.split_once(" realm=\"").unwrap();
            let params = rest.split_once('"').unwrap().1;
            format!("{scheme}{params}")
        })
        .collect();
    (status, response.json().await.unwrap_or(Value::Null), challenges)
}

#[tokio::test]
async fn the_tutorial_refuses_what_the_service_refuses_with_the_same_answers() {
    let issuer = TestIssuer::start().await;
    // The tutorial takes bearer tokens only, as the service does with DPoP disabled.
    let service = TestApp::spawn_with(&issuer, |f| f.merge(("dpop.mode", "disabled"))).await;
    let env = [("AUTH0_ISSUER", issuer.url.as_str()), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")];
    let tutorial = example("tutorial", &env);
    let cases = refusals(&issuer);
    for case in &cases {
        let expected = outcome(&service.client, service.url(case.path), &case.authorization).await;
        let got =
            outcome(&service.client, format!("http://{}{}", tutorial.address, case.path), &case.authorization).await;
        assert!(expected.0 >= 400, "{}: the service refuses it: {expected:?}", case.what);
        assert_eq!(got, expected, "{}", case.what);
        if case.what == "a valid token without the scope" {
            assert_eq!(got.0, 403);
            assert_eq!(got.1["error"], "insufficient_scope");
            assert!(got.2[0].starts_with("Bearer, error=\"insufficient_scope\""), "{:?}", got.2);
            assert!(got.2[0].ends_with("scope=\"read:messages\""), "{:?}", got.2);
        }
    }
    assert_eq!(cases.len(), 27);

    let token = issuer.token();
    for path in ["/api/private", "/api/private-scoped"] {
        let granted: Value = service
            .client
            .get(format!("http://{}{path}", tutorial.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(granted, json!({"message": "Access granted", "data": issuer.claims()}), "{path}");
    }
    let public: Value =
        reqwest::get(format!("http://{}/api/public", tutorial.address)).await.unwrap().json().await.unwrap();
    assert!(public["message"].as_str().unwrap().starts_with("Hello from a public endpoint"));
    let docs = reqwest::get(format!("http://{}/docs", tutorial.address)).await.unwrap();
    assert_eq!(docs.status(), 200, "Swagger UI");
}

#[tokio::test]
async fn the_tutorial_names_what_it_needs_when_it_is_not_configured() {
    let mut command =
        Command::new(Path::new(env!("CARGO_BIN_EXE_protected-api")).with_file_name("examples").join("tutorial"));
    let output = command.env_clear().output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set AUTH0_DOMAIN (or AUTH0_ISSUER) and AUTH0_API_AUDIENCE"), "{stderr}");
}

#[tokio::test]
async fn custom_claims_optional_tokens_and_a_dpop_only_route() {
    let issuer = TestIssuer::start().await;
    let env = [("AUTH0_ISSUER", issuer.url.as_str()), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")];
    let running = example("custom_claims", &env);
    let base = format!("http://{}", running.address);
    let client = reqwest::Client::new();

    let anonymous: Value = client.get(format!("{base}/api/hello")).send().await.unwrap().json().await.unwrap();
    assert_eq!(anonymous, json!({"message": "Hello, stranger", "roles": []}));
    let with_roles = issuer.token_with(json!({"https://example.com/roles": ["admin", "auditor"]}));
    let greeted: Value =
        client.get(format!("{base}/api/hello")).bearer_auth(&with_roles).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        greeted,
        json!({"message": format!("Hello, {}", issuer.claims()["sub"].as_str().unwrap()), "roles": ["admin", "auditor"]})
    );
    let wrong_type = issuer.token_with(json!({"https://example.com/roles": "admin"}));
    let refused = client.get(format!("{base}/api/hello")).bearer_auth(&wrong_type).send().await.unwrap();
    assert_eq!(refused.status(), 401, "a token that is sent is checked, custom claims included");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert!(body["error_description"].as_str().unwrap().contains("invalid type: string"), "{body}");

    let key = DpopKey::generate().unwrap();
    let bound = issuer.token_with(json!({"scope": "transfer:funds", "cnf": {"jkt": key.thumbprint()}}));
    let url = format!("{base}/api/transfers");
    let as_bearer =
        client.post(&url).bearer_auth(issuer.token_with(json!({"scope": "transfer:funds"}))).send().await.unwrap();
    assert_eq!(as_bearer.status(), 401, "a bearer token on the DPoP-only route");
    let challenges: Vec<&str> =
        as_bearer.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(challenges[0].starts_with("DPoP realm=\"api\", error=\"invalid_token\""), "{challenges:?}");
    let proof = key.proof("POST", &url, unix_now(), Some(&bound), None).unwrap();
    let accepted =
        client.post(&url).header("authorization", format!("DPoP {bound}")).header("dpop", proof).send().await.unwrap();
    assert_eq!(accepted.status(), 200);
    let body: Value = accepted.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("Transfer accepted for "), "{body}");
}
