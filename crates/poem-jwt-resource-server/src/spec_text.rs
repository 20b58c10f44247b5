//! The words of the spec that an API may want in its own terms: the names of the two security
//! schemes and their descriptions, and the descriptions of two claims. poem-openapi builds a
//! spec from types, not from values, so these are set once per process — by
//! [`GuardBuilder::spec_text`](crate::GuardBuilder::spec_text), or by [`SpecText::install`] where
//! a spec is made without a guard — and read wherever the spec is made.

use std::sync::OnceLock;

/// The words of the spec.
///
/// ```
/// use jwt_resource_server::{Issuer, ResourceServer};
/// use poem_jwt_resource_server::{Guard, SpecText};
///
/// let server = ResourceServer::builder()
///     .issuer(Issuer::url("https://login.example.com/"))
///     .audience("https://api.example.com")
///     .build()
///     .unwrap();
/// let words = SpecText { bearer_scheme: "Token", permissions_description: "Keycloak roles", ..SpecText::default() };
/// let guard = Guard::builder(server).spec_text(words.clone()).build().unwrap();
/// assert_eq!(SpecText::current().bearer_scheme, "Token");
/// assert!(SpecText::default().install().is_err(), "a process has one set of words");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecText {
    /// The name of the bearer token scheme.
    pub bearer_scheme: &'static str,
    /// The name of the DPoP scheme.
    pub dpop_scheme: &'static str,
    /// What the bearer scheme is.
    pub bearer_description: &'static str,
    /// What the DPoP scheme is.
    pub dpop_description: &'static str,
    /// What the `sub` claim is.
    pub sub_description: &'static str,
    /// What the `permissions` claim is.
    pub permissions_description: &'static str,
}

impl Default for SpecText {
    fn default() -> Self {
        SpecText {
            bearer_scheme: "BearerAuth",
            dpop_scheme: "DPoPAuth",
            bearer_description: "An OAuth 2.0 access token (a JWT signed by the identity provider) in\n`Authorization: Bearer <token>`, requested for this API (its identifier as `audience`, or\n`resource`).",
            dpop_description: "A DPoP-bound access token (RFC 9449) in `Authorization: DPoP <token>`, with a new\n`DPoP: <proof>` header on every request: a JWT of `typ` `dpop+jwt` signed by the key the\ntoken's `cnf.jkt` names, whose `htm`, `htu`, `iat`, `jti` and `ath` fit the request.",
            sub_description: "Subject: the user or the client",
            permissions_description: "Permissions (RBAC)",
        }
    }
}

static INSTALLED: OnceLock<SpecText> = OnceLock::new();

/// The words were set already, to others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the spec's words were set already, to others: a process has one set of them")]
pub struct SpecTextTaken;

impl SpecText {
    /// Makes these the words of every spec this process makes; setting the same words again is
    /// fine, other words are refused.
    pub fn install(self) -> Result<(), SpecTextTaken> {
        let installed = INSTALLED.get_or_init(|| self.clone());
        if *installed == self { Ok(()) } else { Err(SpecTextTaken) }
    }

    /// The words in use: those installed, or the default ones.
    pub fn current() -> &'static SpecText {
        static DEFAULT: OnceLock<SpecText> = OnceLock::new();
        INSTALLED.get().unwrap_or_else(|| DEFAULT.get_or_init(SpecText::default))
    }
}
