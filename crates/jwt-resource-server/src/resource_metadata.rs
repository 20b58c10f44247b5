//! OAuth 2.0 Protected Resource Metadata (RFC 9728) at `/.well-known/oauth-protected-resource`:
//! which authorization server issues tokens for this API, and which scopes it knows.
//!
//! RFC 9728 §3.1 forms the metadata URL from the resource identifier, with the well-known path
//! between the host and the identifier's own path: for the audience `https://api.example.com/v2`
//! it is `/.well-known/oauth-protected-resource/v2`. That path form is served too, and it is the
//! one the `resource_metadata` link of every challenge names.

use serde::{Deserialize, Serialize};

/// The path the metadata is served at.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// Where RFC 9728 §3.1 puts the metadata of `resource`: [`RESOURCE_METADATA_PATH`] followed by
/// the resource's path without its trailing slash (nothing more when the resource has no path or
/// is not a URL).
pub fn resource_metadata_path(resource: &str) -> String {
    let path = url::Url::parse(resource)
        .ok()
        .filter(url::Url::has_host)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{RESOURCE_METADATA_PATH}{path}")
}

/// The metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The algorithms DPoP proofs may be signed with (RFC 9449 §5.1); absent when DPoP is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether every token must be DPoP-bound.
    pub dpop_bound_access_tokens_required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_path_carries_the_resource_path() {
        assert_eq!(resource_metadata_path("https://api.example.com"), RESOURCE_METADATA_PATH);
        assert_eq!(resource_metadata_path("https://api.example.com/"), RESOURCE_METADATA_PATH);
        assert_eq!(resource_metadata_path("https://api.example.com/v2"), "/.well-known/oauth-protected-resource/v2");
        assert_eq!(resource_metadata_path("https://api.example.com/a/b/"), "/.well-known/oauth-protected-resource/a/b");
        assert_eq!(resource_metadata_path("my-api"), RESOURCE_METADATA_PATH);
        assert_eq!(resource_metadata_path("urn:example:api"), RESOURCE_METADATA_PATH);
    }
}
