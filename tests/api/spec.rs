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
    check("openapi.json", protected_api::api::spec().spec() + "\n");
}

#[test]
fn committed_yaml_spec_is_up_to_date() {
    check("openapi.yaml", protected_api::api::spec().spec_yaml());
}

#[test]
fn every_operation_has_an_id_a_tag_a_summary_and_documented_auth_failures() {
    let spec: serde_json::Value = serde_json::from_str(&protected_api::api::spec().spec()).unwrap();
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
    let spec: serde_json::Value = serde_json::from_str(&protected_api::api::spec().spec()).unwrap();
    for path in spec["paths"].as_object().unwrap().keys().map(String::as_str).chain(["/dev/token"]) {
        assert_eq!(&*table.label(path), path);
    }
    assert_eq!(&*table.label("/api/private/"), "/api/private");
    assert_eq!(&*table.label("/api/private/../x"), "unmatched");
}

/// Declaring what an operation needs is the only step: an operation with a new scope gets its 403
/// in the spec, its scope in the Swagger UI login (the `OAuth2` requirement and the scopes to
/// ask for) and in the RFC 9728 metadata, from its extractor's type alone — the service builds
/// each of them from the protected operations exactly as here.
#[test]
fn a_new_scoped_operation_appears_everywhere_with_no_other_edit() {
    use jwt_resource_server::{Issuer, LoginEndpoints, ResourceServer, Scope, scope, scopes_of};
    use poem_jwt_resource_server::{AccessToken, Guard, Protected};
    use poem_openapi::{OpenApi, payload::PlainText};
    use protected_api::api::{MessagesApi, docs::DocsLogin};

    scope!(WriteMessages = "write:messages");
    struct Writing;
    #[OpenApi]
    impl Writing {
        /// Write a message
        #[oai(path = "/api/messages", method = "post", operation_id = "postMessage")]
        async fn write(&self, _token: AccessToken<Scope<WriteMessages>>) -> PlainText<&'static str> {
            PlainText("written")
        }
    }

    let server = ResourceServer::builder()
        .issuer(Issuer::url("https://issuer.invalid/"))
        .audience("https://api.invalid")
        .build();
    let guard = Guard::new(server.unwrap());
    let spec: serde_json::Value =
        serde_json::from_str(&protected_api::api::describe(guard.protect((MessagesApi, Writing))).spec()).unwrap();
    let denied = &spec["paths"]["/api/messages"]["post"]["responses"]["403"]["description"];
    assert!(denied.as_str().unwrap().contains("`write:messages`"), "{denied}");

    let operations = Protected::<(MessagesApi, Writing)>::operations();
    let login = DocsLogin::new("client".into(), "https://api.invalid".into(), &operations);
    login.found(LoginEndpoints {
        authorization: "https://issuer.invalid/authorize".parse().unwrap(),
        token: "https://issuer.invalid/oauth/token".parse().unwrap(),
    });
    let with_login: serde_json::Value = serde_json::from_str(&login.spec(&spec.to_string())).unwrap();
    let scopes = &with_login["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"]["scopes"];
    assert!(scopes.get("write:messages").is_some() && scopes.get("read:messages").is_some(), "{scopes}");
    let security = &with_login["paths"]["/api/messages"]["post"]["security"];
    assert!(security.as_array().unwrap().contains(&serde_json::json!({"OAuth2": ["write:messages"]})), "{security}");
    assert!(login.init_oauth().contains(r#""scopes":["read:messages","write:messages"]"#), "{}", login.init_oauth());

    let scopes = scopes_of(operations.iter().map(|operation| &operation.requirement));
    let metadata = guard.metadata_endpoint(scopes, "test");
    assert_eq!(metadata.metadata().scopes_supported, ["read:messages", "write:messages"]);
}
