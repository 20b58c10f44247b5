//! Auth0 Organizations: an operation for the members of an organization. Auth0 puts `org_id`
//! (and, when the tenant enables it, `org_name`) in the access tokens it issues in an
//! organization's context, user and machine-to-machine alike, and leaves checking them to the API.
//!
//! - [`Organization`]: the token was issued for an organization;
//! - [`PathOrganization`]: for the organization the request's path names (`/orgs/{org_id}/…`).
//!
//! Both also hold the token to the organizations the API serves, when the builder names any
//! ([`ResourceServerBuilder::organization`](crate::ResourceServerBuilder::organization)); a name
//! given there is compared with the token's `org_name`, when it has one, ignoring case (Auth0
//! writes names in lower case). A token without `org_id` gets 403 `organization_required`, one of
//! another organization 403 `organization_mismatch`.
//!
//! ```
//! use jwt_resource_server::{Access, Claims, Organization, PathOrganization, PathParams, Requirement, Scheme, Timestamp};
//!
//! /// The path `/orgs/org_globex/invoices`, as the router matched it.
//! struct Matched;
//!
//! impl PathParams for Matched {
//!     fn get(&self, name: &str) -> Option<&str> {
//!         (name == "org_id").then_some("org_globex")
//!     }
//! }
//!
//! let claims = Claims::from_json(r#"{"org_id": "org_acme", "org_name": "acme"}"#.to_owned()).unwrap();
//! let access = Access::new(&claims, Scheme::Bearer, Timestamp::default(), &Matched);
//! assert!(Organization::check(&access).is_ok());
//! let denial = <PathOrganization>::check(&access).unwrap_err();
//! assert_eq!((denial.status, denial.code.as_str()), (403, "organization_mismatch"));
//! ```

use crate::{
    code::ErrorCode,
    rejection::echoed,
    requirement::{Access, Denial, Requirement, RequirementDoc},
};

/// An organization the API serves: its id (`org_…`) and, optionally, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownOrganization {
    id: String,
    name: Option<String>,
}

impl KnownOrganization {
    /// The organization whose tokens carry `org_id` = `id`.
    pub fn id(id: impl Into<String>) -> Self {
        KnownOrganization { id: id.into(), name: None }
    }

    /// The same organization, whose tokens, when they carry `org_name`, carry `name` (any case).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Its id.
    pub fn org_id(&self) -> &str {
        &self.id
    }

    /// Its name, when one was given.
    pub fn org_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The name of a path parameter holding an organization id, for [`PathOrganization`].
pub trait PathParamName: Send + Sync + 'static {
    /// The parameter's name, as the path declares it (`org_id` in `/orgs/{org_id}`).
    const NAME: &'static str;
}

/// The path parameter `org_id`.
pub struct OrgIdParam;

impl PathParamName for OrgIdParam {
    const NAME: &'static str = "org_id";
}

/// A token issued in the context of an organization (`org_id`) that the API serves.
pub struct Organization;

/// A token of the organization named by the path parameter `P` (default `org_id`).
pub struct PathOrganization<P = OrgIdParam>(std::marker::PhantomData<P>);

const REQUIRED: &str =
    "The access token was not issued for an organization: it has no `org_id` claim (`organization_required`)";
const OF_THE_PATH: &str = "The access token was issued for another organization than the one in the path, or for one this API does not serve (`organization_mismatch`)";
const SERVED: &str = "The access token was issued for an organization this API does not serve, or its `org_name` is not that organization's (`organization_mismatch`)";

impl Requirement for Organization {
    fn describe(doc: &mut RequirementDoc) {
        doc.refusal(403, REQUIRED);
        doc.refusal(403, SERVED);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        check_organization(access, None)
    }
}

impl<P: PathParamName> Requirement for PathOrganization<P> {
    fn describe(doc: &mut RequirementDoc) {
        doc.refusal(403, REQUIRED);
        doc.refusal(403, OF_THE_PATH);
        doc.path_param(P::NAME);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        match access.path_params.get(P::NAME) {
            Some(expected) => check_organization(access, Some(expected)),
            None => Err(mismatch(format!("the operation's path has no {} parameter", P::NAME))),
        }
    }
}

/// The token's organization: present, the one `expected` (when the path names one), one the API
/// serves, and of the configured name.
fn check_organization(access: &Access<'_>, expected: Option<&str>) -> Result<(), Denial> {
    let Some(org_id) = access.claims.org_id() else {
        return Err(Denial::new(
            403,
            ErrorCode::OrganizationRequired,
            "organization_required",
            "this operation is for members of an organization: the token has no org_id claim; request it with the organization parameter",
        ));
    };
    if let Some(expected) = expected
        && org_id != expected
    {
        return Err(mismatch(format!(
            "the token was issued for the organization {}, not {}",
            echoed(org_id),
            echoed(expected)
        )));
    }
    let served = access.policy.organizations();
    if served.is_empty() {
        return Ok(());
    }
    let Some(known) = served.iter().find(|known| known.id == org_id) else {
        return Err(mismatch(format!("the token's organization {} is not one this API serves", echoed(org_id))));
    };
    match (&known.name, access.claims.org_name()) {
        (Some(name), Some(token_name)) if name.to_lowercase() != token_name.to_lowercase() => Err(mismatch(format!(
            "the token's org_name {} is not the name of the organization {}",
            echoed(token_name),
            echoed(org_id)
        ))),
        _ => Ok(()),
    }
}

fn mismatch(description: String) -> Denial {
    Denial::new(403, ErrorCode::OrganizationMismatch, "organization_mismatch", description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessPolicy, Claims, Scheme, Timestamp};

    struct Path(&'static str);

    impl crate::PathParams for Path {
        fn get(&self, name: &str) -> Option<&str> {
            (name == "org_id").then_some(self.0)
        }
    }

    fn check<R: Requirement>(claims: &str, path: &str, policy: &AccessPolicy) -> Result<(), (ErrorCode, String)> {
        let claims = Claims::from_json(claims.to_owned()).unwrap();
        let path = Path(Box::leak(path.to_owned().into_boxed_str()));
        let access = Access::new(&claims, Scheme::Bearer, Timestamp::default(), &path).with_policy(policy);
        R::check(&access).map_err(|denial| (denial.code, denial.description))
    }

    #[test]
    fn the_path_names_the_organization_and_the_served_list_bounds_it() {
        let open = AccessPolicy::default();
        let acme = r#"{"org_id": "org_acme", "org_name": "Acme"}"#;
        assert!(check::<PathOrganization>(acme, "org_acme", &open).is_ok());
        let (code, text) = check::<PathOrganization>(acme, "org_other", &open).unwrap_err();
        assert_eq!(code, ErrorCode::OrganizationMismatch);
        assert_eq!(text, "the token was issued for the organization org_acme, not org_other");
        assert_eq!(check::<Organization>("{}", "", &open).unwrap_err().0, ErrorCode::OrganizationRequired);

        let served = AccessPolicy::default().with_organizations([KnownOrganization::id("org_acme").name("acme")]);
        assert!(check::<Organization>(acme, "", &served).is_ok(), "names compare ignoring case");
        assert!(check::<Organization>(r#"{"org_id": "org_acme"}"#, "", &served).is_ok(), "no org_name: the id decides");
        let renamed = r#"{"org_id": "org_acme", "org_name": "globex"}"#;
        assert!(check::<Organization>(renamed, "", &served).unwrap_err().1.contains("org_name globex"));
        let other = r#"{"org_id": "org_other"}"#;
        assert!(
            check::<PathOrganization>(other, "org_other", &served).unwrap_err().1.contains("not one this API serves")
        );
    }
}
