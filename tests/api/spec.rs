//! The committed spec in `openapi/` is what the code generates.

use std::path::PathBuf;

use crate::helpers::base_settings;

const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo test --test api spec::";

fn check(file: &str, generated: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi").join(file);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/{file} differs from what the code generates; regenerate it with:\n    {REGENERATE}"
    );
}

#[test]
fn committed_json_spec_is_up_to_date() {
    check("openapi.json", protected_api::api::service().spec() + "\n");
}

#[test]
fn committed_yaml_spec_is_up_to_date() {
    check("openapi.yaml", protected_api::api::service().spec_yaml());
}

#[test]
fn every_operation_has_an_id_a_tag_a_summary_and_documented_auth_failures() {
    let spec: serde_json::Value = serde_json::from_str(&protected_api::api::service().spec()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(operation["operationId"].is_string(), "{name} has no operationId");
            assert!(operation["tags"][0].is_string(), "{name} has no tag");
            assert!(operation["summary"].is_string(), "{name} has no summary");
            if operation.get("security").is_some() {
                for status in ["200", "400", "401", "503"] {
                    assert!(operation["responses"][status].is_object(), "{name} does not document {status}");
                }
            }
        }
    }
    assert!(spec["paths"].get("/dev/token").is_none(), "the committed spec is the production surface");
    assert!(!spec.to_string().contains("development"));
    let scoped = &spec["paths"]["/api/private-scoped"]["get"]["responses"]["403"]["description"];
    assert!(scoped.as_str().unwrap().contains("`read:messages`"));
    assert_eq!(spec["components"]["securitySchemes"]["BearerAuth"]["scheme"], "bearer");
    assert_eq!(spec["components"]["securitySchemes"]["BearerAuth"]["bearerFormat"], "JWT");
    let dpop = &spec["components"]["securitySchemes"]["DPoPAuth"];
    assert_eq!((dpop["type"].as_str(), dpop["scheme"].as_str()), (Some("http"), Some("DPoP")));
    for (path, fallback) in [("/api/private", false), ("/api/private-scoped", false), ("/api/greeting", true)] {
        let mut expected = vec![serde_json::json!({"BearerAuth": []}), serde_json::json!({"DPoPAuth": []})];
        if fallback {
            expected.push(serde_json::json!({}));
        }
        assert_eq!(spec["paths"][path]["get"]["security"], serde_json::Value::Array(expected), "{path}");
    }
}

#[tokio::test]
async fn every_route_has_its_own_metrics_label() {
    let settings = protected_api::settings::extract(base_settings().merge(("server.port", 0))).unwrap();
    let application = protected_api::startup::Application::build(&settings).await.unwrap();
    let table = protected_api::startup::routes(application.state()).table;
    let spec: serde_json::Value = serde_json::from_str(&protected_api::api::service().spec()).unwrap();
    for path in spec["paths"].as_object().unwrap().keys().map(String::as_str).chain(["/dev/token"]) {
        assert_eq!(&*table.label(path), path);
    }
    assert_eq!(&*table.label("/api/private/"), "/api/private");
    assert_eq!(&*table.label("/api/private/../x"), "unmatched");
}
