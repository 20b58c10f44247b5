//! The built binary, started the way a person starts it.

use std::process::Command;

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
fn the_development_issuer_never_starts_by_mistake() {
    // A deployment that forgot APP_PROFILE=production, with an empty domain and a real audience.
    let env = [("AUTH0_DOMAIN", ""), ("AUTH0_API_AUDIENCE", AUDIENCE), ("PORT", "0")];
    let output = service_command(&env).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("auth0.domain (env AUTH0_DOMAIN): AUTH0_DOMAIN is set but empty"), "{stderr}");
    // Listening on every interface, as in a container.
    let output = service_command(&[("HOST", "0.0.0.0"), ("PORT", "0")]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("the development issuer would run while server.host is 0.0.0.0"), "{stderr}");
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
    let running = Running::start(&env);
    assert!(!running.printed("development issuer"), "a configured issuer turns the development issuer off");
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/private", running.address);
    let response = client.get(url).bearer_auth(issuer.token()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let dev = client.post(format!("http://{}/dev/token", running.address)).form(&[("scope", "x")]).send().await;
    assert_eq!(dev.unwrap().status(), 404);

    let (exit, lines) = running.terminate();
    assert_eq!(exit, Some(0), "the service stops cleanly on SIGTERM");
    assert!(lines.iter().any(|line| line.contains("shutdown signal received")));
}

#[tokio::test]
async fn the_binary_runs_from_an_empty_directory_with_its_built_in_settings() {
    let issuer = TestIssuer::start().await;
    let dir = std::env::temp_dir().join(format!("protected-api-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("protected-api");
    std::fs::copy(env!("CARGO_BIN_EXE_protected-api"), &binary).unwrap();
    let mut command = Command::new(&binary);
    command.current_dir(&dir).env_clear().envs([
        ("APP_PROFILE", "production"),
        ("AUTH0_ISSUER", issuer.url.as_str()),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("PORT", "0"),
    ]);
    let running = Running::spawn(command);
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/private", running.address))
        .bearer_auth(issuer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (code, lines) = running.terminate();
    assert_eq!(code, Some(0));
    assert!(lines.iter().any(|line| line.contains("settings: the built-in production profile\"")), "{lines:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn every_request_has_its_access_line_when_the_service_stops() {
    const REQUESTS: usize = 3_000;
    let issuer = TestIssuer::start().await;
    let env = [
        ("APP_PROFILE", "production"),
        ("AUTH0_ISSUER", issuer.url.as_str()),
        ("AUTH0_API_AUDIENCE", AUDIENCE),
        ("PORT", "0"),
    ];
    let running = Running::start(&env);
    let client = reqwest::Client::new();
    let (base, token) = (format!("http://{}", running.address), issuer.token());
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..32 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        senders.spawn(async move {
            let mut statuses = Vec::new();
            for i in (sender..REQUESTS).step_by(32) {
                let path = ["/api/public", "/api/private", "/api/private-scoped"][i % 3];
                let mut request = client.get(format!("{base}{path}")).header("x-request-id", format!("req-{i}"));
                if i % 2 == 0 {
                    request = request.bearer_auth(&token);
                }
                statuses.push(request.send().await.unwrap().status());
            }
            statuses
        });
    }
    let statuses: Vec<_> = senders.join_all().await.into_iter().flatten().collect();
    assert!(statuses.iter().any(|status| *status == 401) && statuses.iter().any(|status| *status == 200));

    let (code, lines) = running.terminate();
    assert_eq!(code, Some(0), "the service stops cleanly on SIGTERM");
    let mut logged: Vec<String> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "response")
        .map(|line| line["request_id"].as_str().unwrap().to_owned())
        .collect();
    logged.sort();
    let mut sent: Vec<String> = (0..REQUESTS).map(|i| format!("req-{i}")).collect();
    sent.sort();
    assert_eq!(logged.len(), REQUESTS, "one access line per request");
    assert_eq!(logged, sent);
}

#[tokio::test]
async fn the_healthcheck_subcommand_exits_0_while_the_service_answers_and_1_after() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let env = [("PORT", port.as_str()), ("HOST", "0.0.0.0"), ("APP_DEV_ISSUER__ALLOW_NON_LOOPBACK", "true")];
    let healthcheck = || {
        let output = service_command(&env).arg("healthcheck").output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let running = Running::start(&env);
    assert_eq!(healthcheck(), (Some(0), String::new()), "a wildcard listener is asked on loopback");
    let (code, _) = running.terminate();
    assert_eq!(code, Some(0));
    let (code, stderr) = healthcheck();
    assert_eq!(code, Some(1));
    assert!(stderr.starts_with(&format!("unhealthy: connect to 127.0.0.1:{port}")), "{stderr}");
}
