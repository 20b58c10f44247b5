//! Typed custom claims: what your identity provider adds to access tokens (Auth0's namespaced
//! claims, a tenant id, roles), read into a type of your own once, when the token is verified,
//! and kept with it in the token cache, so a cached token is never read again.
//!
//! Any type serde can read from the claims' JSON object is one:
//!
//! ```
//! use jwt_resource_server::CustomClaims;
//!
//! #[derive(serde::Deserialize)]
//! struct Roles {
//!     #[serde(rename = "https://example.com/roles", default)]
//!     roles: Vec<String>,
//! }
//!
//! let roles = Roles::from_payload(r#"{"sub": "auth0|1", "https://example.com/roles": ["admin"]}"#).unwrap();
//! assert_eq!(roles.roles, ["admin"]);
//! ```
//!
//! `()` stands for none: nothing is read.

use std::{
    any::{Any, TypeId},
    sync::Arc,
};

use serde::de::DeserializeOwned;

/// Claims read from a token's payload into a type of your own.
pub trait CustomClaims: Send + Sync + Sized + 'static {
    /// Reads them from the claims' JSON object.
    fn from_payload(payload: &str) -> Result<Self, serde_json::Error>;
}

impl<T: DeserializeOwned + Send + Sync + 'static> CustomClaims for T {
    fn from_payload(payload: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(payload)
    }
}

/// Custom claims of some type, as the token cache keeps them.
#[derive(Clone)]
pub(crate) struct AnyClaims {
    type_id: TypeId,
    value: Arc<dyn Any + Send + Sync>,
    /// What they are counted as in the token cache.
    pub(crate) weight: usize,
}

impl AnyClaims {
    /// Custom claims of type `C`, read from `payload`; `()` reads nothing.
    pub(crate) fn read<C: CustomClaims>(payload: &str) -> Result<Arc<C>, serde_json::Error> {
        if TypeId::of::<C>() == TypeId::of::<()>() {
            let none: Arc<dyn Any + Send + Sync> = Arc::new(());
            return Ok(none.downcast::<C>().unwrap_or_else(|_| unreachable!("C is ()")));
        }
        C::from_payload(payload).map(Arc::new)
    }

    /// `claims` of type `C`, counted as their own size and the payload's (what they can copy
    /// from it at most, for the usual field types).
    pub(crate) fn new<C: CustomClaims>(claims: Arc<C>, payload_len: usize) -> Self {
        AnyClaims { type_id: TypeId::of::<C>(), value: claims, weight: size_of::<C>() + payload_len }
    }

    /// The claims, when they are of type `C`.
    pub(crate) fn get<C: CustomClaims>(&self) -> Option<Arc<C>> {
        if self.type_id != TypeId::of::<C>() {
            return None;
        }
        Arc::clone(&self.value).downcast::<C>().ok()
    }
}
