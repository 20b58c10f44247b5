//! Logging in from Swagger UI: the authorization code flow with PKCE against the login issuer.
//!
//! The issuer's authorization and token endpoints come from its metadata document, found at run
//! time and retried like the key fetch; until they are known the docs work with the token
//! schemes alone. Once they are, the spec served at `/openapi.json` gains the `OAuth2` scheme
//! ([`OAUTH_SCHEME`]) beside `BearerAuth` on every protected operation, with the scopes each one
//! needs, and the page's `initOAuth` names the client, PKCE, and the API as `audience` (Auth0)
//! and `resource` (RFC 8707).

use std::{
    borrow::Cow,
    sync::{Arc, OnceLock},
    time::Duration,
};

use jwt_resource_server::{KeyStore, LoginEndpoints, scopes_of};
use poem_jwt_resource_server::{ProtectedOperation, SpecText};
use serde_json::{Map, Value, json};

/// The name of the login scheme in the served spec.
pub const OAUTH_SCHEME: &str = "OAuth2";

/// Swagger UI's client, and where it logs in once that is known.
pub struct DocsLogin {
    client_id: String,
    audience: String,
    /// Every scope the API's operations need.
    scopes: Vec<&'static str>,
    /// The scopes each operation (by `operationId`) needs.
    operation_scopes: Vec<(&'static str, Vec<&'static str>)>,
    endpoints: OnceLock<LoginEndpoints>,
    /// The served spec with the login scheme, made once the endpoints are known.
    spec: OnceLock<String>,
}

impl DocsLogin {
    /// A login for `client_id` into tokens for `audience`, asking for the scopes `operations`
    /// need.
    pub fn new(client_id: String, audience: String, operations: &[ProtectedOperation]) -> Self {
        let scopes = scopes_of(operations.iter().map(|operation| &operation.requirement));
        let operation_scopes = operations
            .iter()
            .filter_map(|operation| Some((operation.operation_id?, operation.requirement.scopes.clone())))
            .collect();
        DocsLogin { client_id, audience, scopes, operation_scopes, endpoints: OnceLock::new(), spec: OnceLock::new() }
    }

    /// The endpoints, once found.
    pub fn endpoints(&self) -> Option<&LoginEndpoints> {
        self.endpoints.get()
    }

    /// Records the endpoints (the first found are kept).
    pub fn found(&self, endpoints: LoginEndpoints) {
        let _ = self.endpoints.set(endpoints);
    }

    /// Looks for the endpoints in the metadata of `keys`' issuer until they are found, waiting
    /// between attempts as the key store does between fetches.
    pub async fn discover(self: Arc<Self>, keys: Arc<KeyStore>) {
        let policy = keys.policy();
        let mut wait = policy.retry_initial;
        loop {
            match keys.source().login_endpoints().await {
                Ok(endpoints) => {
                    tracing::info!(
                        authorization_endpoint = %endpoints.authorization,
                        token_endpoint = %endpoints.token,
                        "Swagger UI login through {}",
                        keys.issuer()
                    );
                    self.found(endpoints);
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?wait, "the login issuer's endpoints cannot be found yet; /docs offers token pasting meanwhile");
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(policy.retry_max).max(Duration::from_millis(10));
        }
    }

    /// `base` (the spec as JSON) with the login scheme once the endpoints are known.
    pub fn spec<'a>(&self, base: &'a str) -> Cow<'a, str> {
        let Some(endpoints) = self.endpoints() else {
            return Cow::Borrowed(base);
        };
        Cow::Owned(self.spec.get_or_init(|| self.with_login(base, endpoints)).clone())
    }

    fn with_login(&self, base: &str, endpoints: &LoginEndpoints) -> String {
        let Ok(mut spec) = serde_json::from_str::<Value>(base) else {
            return base.to_owned();
        };
        let scopes: Map<String, Value> = self
            .scopes
            .iter()
            .map(|scope| ((*scope).to_owned(), Value::String(format!("the scope {scope}"))))
            .collect();
        spec["components"]["securitySchemes"][OAUTH_SCHEME] = json!({
            "type": "oauth2",
            "description": "Log in with the identity provider (authorization code with PKCE); Swagger UI then sends the access token it gets as a bearer token.",
            "flows": {"authorizationCode": {
                "authorizationUrl": endpoints.authorization.as_str(),
                "tokenUrl": endpoints.token.as_str(),
                "scopes": scopes,
            }},
        });
        if let Some(paths) = spec["paths"].as_object_mut() {
            for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|path| path.values_mut()) {
                let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
                let Some(security) = operation.get_mut("security").and_then(Value::as_array_mut) else {
                    continue;
                };
                let bearer = SpecText::current().bearer_scheme;
                let Some(at) = security.iter().position(|requirement| requirement.get(bearer).is_some()) else {
                    continue;
                };
                let needed: Vec<&str> = self
                    .operation_scopes
                    .iter()
                    .filter(|(op, _)| *op == id)
                    .flat_map(|(_, scopes)| scopes.iter().copied())
                    .collect();
                security.insert(at + 1, json!({ OAUTH_SCHEME: needed }));
            }
        }
        spec.to_string()
    }

    /// The page's `initOAuth` call: the client, PKCE, no secret, the API as `audience` and
    /// `resource`, the API's scopes preselected.
    pub fn init_oauth(&self) -> String {
        let config = json!({
            "clientId": self.client_id,
            "usePkceWithAuthorizationCodeGrant": true,
            "scopes": self.scopes,
            "additionalQueryStringParams": {"audience": self.audience, "resource": self.audience},
        });
        // `</` cannot end the script element from inside the JSON.
        format!("ui.initOAuth({});", config.to_string().replace("</", "<\\/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> DocsLogin {
        let mut scoped = jwt_resource_server::RequirementDoc::default();
        scoped.scope("read:messages");
        let operation = |id, requirement| ProtectedOperation {
            path: "/".into(),
            method: poem::http::Method::GET,
            operation_id: Some(id),
            requirement,
        };
        let operations = [operation("getPrivate", Default::default()), operation("getPrivateScoped", scoped)];
        DocsLogin::new("client".into(), "https://api.example.com".into(), &operations)
    }

    #[test]
    fn the_spec_gains_the_login_scheme_once_the_endpoints_are_known() {
        let base = r#"{"paths":{"/a":{"get":{"operationId":"getPrivate","security":[{"BearerAuth":[]},{"DPoPAuth":[]}]}},"/b":{"get":{"operationId":"getPrivateScoped","security":[{"BearerAuth":[]},{"DPoPAuth":[]}]}},"/c":{"get":{"operationId":"getPublic"}}},"components":{"securitySchemes":{}}}"#;
        let login = login();
        assert_eq!(login.spec(base), base, "unchanged while the endpoints are unknown");
        login.found(LoginEndpoints {
            authorization: "https://idp.example.com/authorize".parse().unwrap(),
            token: "https://idp.example.com/oauth/token".parse().unwrap(),
        });
        let spec: Value = serde_json::from_str(&login.spec(base)).unwrap();
        let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["authorizationCode"];
        assert_eq!(flow["authorizationUrl"], "https://idp.example.com/authorize");
        assert_eq!(flow["scopes"]["read:messages"], "the scope read:messages");
        assert_eq!(
            spec["paths"]["/a"]["get"]["security"],
            json!([{"BearerAuth": []}, {"OAuth2": []}, {"DPoPAuth": []}])
        );
        assert_eq!(spec["paths"]["/b"]["get"]["security"][1], json!({"OAuth2": ["read:messages"]}));
        assert_eq!(spec["paths"]["/c"]["get"].get("security"), None);
        assert!(login.init_oauth().contains(r#""usePkceWithAuthorizationCodeGrant":true"#));
    }
}
