//! OAuth 2.0 Protected Resource Metadata (RFC 9728) at `/.well-known/oauth-protected-resource`:
//! which authorization server issues tokens for this API, and which scopes it knows.

use std::sync::Arc;

use poem::{Response, handler, web::Data};
use serde::Serialize;

/// The path the metadata is served at.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The metadata document.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceMetadata {
    /// The resource identifier: the audience tokens must carry.
    pub resource: String,
    /// The issuers whose tokens are accepted.
    pub authorization_servers: Vec<String>,
    /// The scopes operations require.
    pub scopes_supported: Vec<String>,
    /// How tokens are sent: in the `Authorization` header only.
    pub bearer_methods_supported: Vec<String>,
    /// A name for people.
    pub resource_name: String,
}

impl ResourceMetadata {
    /// Metadata for the API at `audience`, accepting tokens of `issuer`.
    pub fn new(audience: &str, issuer: &str, scopes: &[&str]) -> Self {
        ResourceMetadata {
            resource: audience.to_owned(),
            authorization_servers: vec![issuer.to_owned()],
            scopes_supported: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: env!("CARGO_PKG_NAME").to_owned(),
        }
    }
}

/// `GET /.well-known/oauth-protected-resource`.
#[handler]
pub fn serve_resource_metadata(Data(metadata): Data<&Arc<ResourceMetadata>>) -> Response {
    let body = serde_json::to_string(metadata.as_ref()).unwrap_or_default();
    Response::builder().content_type("application/json").body(body)
}
