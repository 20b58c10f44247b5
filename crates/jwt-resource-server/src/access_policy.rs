//! The values of an API that its requirements read at run time, set on the builder: the
//! organizations it serves, and the claims that stand for `acr` and `auth_time` in tokens of a
//! provider that cannot write those (Auth0).

use crate::{organization::KnownOrganization, step_up::AcrClaim};

/// What the requirements of an API read besides the token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    organizations: Vec<KnownOrganization>,
    acr_claims: Vec<AcrClaim>,
    auth_time_claim: Option<String>,
}

/// No organizations listed, no claims standing for others.
pub(crate) static NO_POLICY: AccessPolicy =
    AccessPolicy { organizations: Vec::new(), acr_claims: Vec::new(), auth_time_claim: None };

impl AccessPolicy {
    /// The same, serving `organizations` (none: any organization).
    pub fn with_organizations(mut self, organizations: impl IntoIterator<Item = KnownOrganization>) -> Self {
        self.organizations.extend(organizations);
        self
    }

    /// The same, with `claims` standing for `acr` values.
    pub fn with_acr_claims(mut self, claims: impl IntoIterator<Item = AcrClaim>) -> Self {
        self.acr_claims.extend(claims);
        self
    }

    /// The same, reading `claim` when a token has no `auth_time`.
    pub fn with_auth_time_claim(mut self, claim: impl Into<String>) -> Self {
        self.auth_time_claim = Some(claim.into());
        self
    }

    /// The organizations served; empty: any.
    pub fn organizations(&self) -> &[KnownOrganization] {
        &self.organizations
    }

    /// The claims standing for `acr` values.
    pub fn acr_claims(&self) -> &[AcrClaim] {
        &self.acr_claims
    }

    /// The claim read when a token has no `auth_time`.
    pub fn auth_time_claim(&self) -> Option<&str> {
        self.auth_time_claim.as_deref()
    }
}
