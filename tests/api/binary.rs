//! The built binary, started the way a person starts it.

use std::{process::Command, time::Duration};

use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, Running, TestIssuer, service_command};

#[test]
fn production_without_an_issuer_exits_2_naming_the_variables() {
    let output = service_command(&[("APP_PROFILE", "production")]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("configuration error: invalid configuration (2 problems)"), "{stderr}");
    for part in ["set AUTH0_DOMAIN", "AUTH0_ISSUER", "the production profile requires one", "set AUTH0_API_AUDIENCE"] {
        assert!(stderr.contains(part), "{stderr:?} should contain {part:?}");
    }
}

#[test]
fn production_refuses_the_development_issuer() {
    let env = [("APP_PROFILE", "production"), ("APP_DEV_ISSUER__ENABLED", "true"), ("AUTH0_API_AUDIENCE", AUDIENCE)];
    let output = service_command(&env).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("dev_issuer.enabled (env APP_DEV_ISSUER__ENABLED): the development issuer cannot run in the production profile"), "{stderr}");
}

#[test]
fn openapi_prints_the_spec() {
    let output = service_command(&[]).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let spec: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "protected-api");
    let yaml = service_command(&[]).args(["openapi", "--yaml"]).output().unwrap();
    assert!(String::from_utf8(yaml.stdout).unwrap().starts_with("openapi: 3.0.0"));
}

#[tokio::test]
async fn a_fresh_start_with_no_configuration_runs_the_development_issuer() {
    let running = Running::start(&[("PORT", "0")]);
    let base = format!("http://{}", running.address);
    let client = reqwest::Client::new();
    assert!(running.printed("Swagger UI:   http://{address}/docs"), "the banner names the Swagger UI URL");

    let mint = |scope: &'static str| {
        let (client, url) = (client.clone(), format!("{base}/dev/token"));
        async move {
            let response = client.post(url).form(&[("scope", scope)]).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let granted = mint("read:messages").await;
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 3600);
    let token = granted["access_token"].as_str().unwrap();

    let private = client.get(format!("{base}/api/private")).bearer_auth(token).send().await.unwrap();
    assert_eq!(private.status(), 200);
    let body: Value = private.json().await.unwrap();
    assert_eq!(body["message"], "Access granted");
    assert_eq!(body["data"]["iss"], format!("{base}/dev/"));
    assert_eq!(body["data"]["aud"], AUDIENCE);
    assert_eq!(body["data"]["sub"], "dev-user");
    assert_eq!(body["data"]["permissions"], json!(["read:messages"]));

    let scoped = client.get(format!("{base}/api/private-scoped")).bearer_auth(token).send().await.unwrap();
    assert_eq!(scoped.status(), 200);

    let other = mint("write:messages").await;
    let denied = client
        .get(format!("{base}/api/private-scoped"))
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await;
    let denied = denied.unwrap();
    assert_eq!(denied.status(), 403);
    assert!(denied.headers()["www-authenticate"].to_str().unwrap().contains("error=\"insufficient_scope\""));

    let spec: Value = client.get(format!("{base}/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["paths"]["/dev/token"]["post"]["tags"], json!(["development"]));
}

#[tokio::test]
async fn the_token_endpoint_takes_json_and_bounds_the_lifetime() {
    let running = Running::start(&[("PORT", "0")]);
    let url = format!("http://{}/dev/token", running.address);
    let client = reqwest::Client::new();
    let custom =
        client.post(&url).json(&json!({"sub": "alice", "scope": "a b", "expires_in": 60})).send().await.unwrap();
    let custom: Value = custom.json().await.unwrap();
    assert_eq!((custom["scope"].as_str(), custom["expires_in"].as_u64()), (Some("a b"), Some(60)));
    for expires_in in [0, 86_401] {
        let refused = client.post(&url).json(&json!({ "expires_in": expires_in })).send().await.unwrap();
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn serves_until_sigterm_then_stops_cleanly() {
    let issuer = TestIssuer::start().await;
    let env = [("AUTH0_ISSUER", issuer.url.as_str()), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")];
    let mut running = Running::start(&env);
    assert!(!running.printed("development issuer"), "a configured issuer turns the development issuer off");
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/private", running.address);
    let response = client.get(url).bearer_auth(issuer.token()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let dev = client.post(format!("http://{}/dev/token", running.address)).form(&[("scope", "x")]).send().await;
    assert_eq!(dev.unwrap().status(), 404);

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
    assert!(running.printed("shutdown signal received"));
}
