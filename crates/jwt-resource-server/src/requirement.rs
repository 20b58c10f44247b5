//! What an operation requires of a valid token, declared by a type: a scope ([`Scope`]), sender
//! constraining ([`DpopOnly`]), an organization ([`Organization`](crate::Organization),
//! [`PathOrganization`](crate::PathOrganization)), a step-up authentication
//! ([`StepUp`](crate::StepUp), [`AuthContext`](crate::AuthContext), [`MaxAge`](crate::MaxAge)),
//! several at once (a tuple), or one of your own.
//!
//! A [`Requirement`] checks the verified claims with what it needs of the request — the scheme the
//! token came with, the path's parameters, the time, the API's [`AccessPolicy`] — and refuses with a [`Denial`] of its own:
//! status, `error` code, description and challenge parameters. It also describes itself
//! ([`RequirementDoc`]), so an adapter documents its refusals in the operation's spec, and the
//! scopes of every operation are known without a list kept by hand.
//!
//! ```
//! use jwt_resource_server::{Access, Claims, Denial, ErrorCode, Requirement, RequirementDoc};
//!
//! /// Tokens of client applications only (Auth0 marks them with `gty: client-credentials`).
//! struct MachinesOnly;
//!
//! impl Requirement for MachinesOnly {
//!     fn describe(doc: &mut RequirementDoc) {
//!         doc.refusal(403, "The access token was not issued to a client application");
//!     }
//!
//!     fn check(access: &Access<'_>) -> Result<(), Denial> {
//!         if access.claims.get::<String>("gty").as_deref() == Some("client-credentials") {
//!             Ok(())
//!         } else {
//!             Err(Denial::new(403, ErrorCode::InsufficientScope, "machines_only", "this route is for client applications"))
//!         }
//!     }
//! }
//! ```

use crate::{
    access_policy::{AccessPolicy, NO_POLICY},
    claims::Claims,
    clock::Timestamp,
    code::ErrorCode,
};

/// How a token reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`, with a proof of the key the token is bound to.
    Dpop,
}

/// What a requirement sees: the verified token and the request it came with.
#[non_exhaustive]
pub struct Access<'a> {
    /// The token's claims, verified.
    pub claims: &'a Claims,
    /// How the token was sent.
    pub scheme: Scheme,
    /// The time of the check.
    pub now: Timestamp,
    /// The request's path parameters (`/orgs/{org_id}` gives `org_id`).
    pub path_params: &'a dyn PathParams,
    /// The API's values its requirements read: the organizations it serves, the claims that
    /// stand for `acr` and `auth_time`.
    pub policy: &'a AccessPolicy,
}

impl<'a> Access<'a> {
    /// What a requirement sees of a request: its verified `claims`, how the token came, the
    /// time, and the path's parameters; no [`AccessPolicy`] values.
    pub fn new(claims: &'a Claims, scheme: Scheme, now: Timestamp, path_params: &'a dyn PathParams) -> Self {
        Access { claims, scheme, now, path_params, policy: &NO_POLICY }
    }

    /// The same, the requirements reading `policy`.
    pub fn with_policy(mut self, policy: &'a AccessPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// The parameters of a request's path, as the router matched them.
pub trait PathParams: Sync {
    /// The value of the parameter `name`, when the path has one.
    fn get(&self, name: &str) -> Option<&str>;
}

/// A request without path parameters.
impl PathParams for () {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Why a requirement refused a valid token, as the answer says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
#[non_exhaustive]
pub struct Denial {
    /// The HTTP status: 403 for a token that lacks what is needed, 401 for one the client must
    /// replace (step-up, sender constraining).
    pub status: u16,
    /// The `error` code of the body and challenge.
    pub code: ErrorCode,
    /// A label for logs and metrics (`insufficient_scope`).
    pub reason: &'static str,
    /// What is missing, for the caller.
    pub description: String,
    /// Further parameters of the challenge (`scope="read:messages"`).
    pub challenge: Vec<(&'static str, String)>,
    /// Whether the challenge offers the DPoP scheme only.
    pub dpop_only: bool,
}

impl Denial {
    /// A refusal with `status`, `code`, a `reason` label and a `description`.
    pub fn new(status: u16, code: ErrorCode, reason: &'static str, description: impl Into<String>) -> Self {
        Denial { status, code, reason, description: description.into(), challenge: Vec::new(), dpop_only: false }
    }

    /// The same refusal, its challenge naming `name="value"` too.
    pub fn with_challenge(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.challenge.push((name, value.into()));
        self
    }
}

/// What a requirement documents about itself: the refusals it answers, the scopes and the
/// authentication contexts it needs, the path parameters it reads, and whether it takes
/// DPoP-bound tokens only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequirementDoc {
    /// Each refusal's status and its description in the spec.
    pub refusals: Vec<(u16, &'static str)>,
    /// The scopes needed.
    pub scopes: Vec<&'static str>,
    /// Whether only DPoP-bound tokens are accepted.
    pub dpop_only: bool,
    /// The authentication contexts (`acr` values) accepted, when one is needed.
    pub acr_values: Vec<&'static str>,
    /// The path parameters read: the operation's path must have them.
    pub path_params: Vec<&'static str>,
}

impl RequirementDoc {
    /// Adds a refusal with `status`, described in the spec by `description`.
    pub fn refusal(&mut self, status: u16, description: &'static str) {
        self.refusals.push((status, description));
    }

    /// Adds a scope the requirement needs.
    pub fn scope(&mut self, scope: &'static str) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    /// Adds authentication contexts the requirement accepts.
    pub fn acr_values(&mut self, values: &[&'static str]) {
        for value in values {
            if !self.acr_values.contains(value) {
                self.acr_values.push(value);
            }
        }
    }

    /// Adds a path parameter the requirement reads.
    pub fn path_param(&mut self, name: &'static str) {
        if !self.path_params.contains(&name) {
            self.path_params.push(name);
        }
    }

    /// Adds everything `other` documents.
    pub fn merge(&mut self, other: &RequirementDoc) {
        self.refusals.extend(other.refusals.iter().copied());
        for scope in &other.scopes {
            self.scope(scope);
        }
        self.dpop_only |= other.dpop_only;
        self.acr_values(&other.acr_values);
        for name in &other.path_params {
            self.path_param(name);
        }
    }

    /// The documentation of `R`.
    pub fn of<R: Requirement>() -> Self {
        let mut doc = RequirementDoc::default();
        R::describe(&mut doc);
        doc
    }
}

/// What an operation requires of a valid token. Checked after the token and its proof, before
/// the operation runs; implemented by types, so a route declares it in its signature.
pub trait Requirement: Send + Sync + 'static {
    /// Describes the requirement: its refusals, its scopes.
    fn describe(doc: &mut RequirementDoc);

    /// Checks a request's verified token.
    fn check(access: &Access<'_>) -> Result<(), Denial>;
}

/// No requirement beyond a valid token.
impl Requirement for () {
    fn describe(_: &mut RequirementDoc) {}

    fn check(_: &Access<'_>) -> Result<(), Denial> {
        Ok(())
    }
}

macro_rules! tuple_requirement {
    ($($name:ident),+) => {
        /// Every requirement of the tuple, checked in order.
        impl<$($name: Requirement),+> Requirement for ($($name,)+) {
            fn describe(doc: &mut RequirementDoc) {
                $(doc.merge(&RequirementDoc::of::<$name>());)+
            }

            fn check(access: &Access<'_>) -> Result<(), Denial> {
                $($name::check(access)?;)+
                Ok(())
            }
        }
    };
}

tuple_requirement!(A);
tuple_requirement!(A, B);
tuple_requirement!(A, B, C);
tuple_requirement!(A, B, C, D);

/// Only DPoP-bound tokens, sent with their proof, whatever the service's DPoP mode: the route
/// offers the DPoP scheme alone.
pub struct DpopOnly;

/// The description of [`DpopOnly`]'s refusal in the spec.
const DPOP_ONLY: &str =
    "This operation accepts only DPoP-bound tokens, sent as `Authorization: DPoP <token>` with a proof";

impl Requirement for DpopOnly {
    fn describe(doc: &mut RequirementDoc) {
        doc.dpop_only = true;
        doc.refusal(401, DPOP_ONLY);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        match access.scheme {
            Scheme::Dpop => Ok(()),
            Scheme::Bearer => {
                let mut denial = Denial::new(
                    401,
                    ErrorCode::InvalidToken,
                    "dpop_bearer_refused",
                    "this operation accepts only DPoP-bound tokens: send Authorization: DPoP <token> with a DPoP proof",
                );
                denial.dpop_only = true;
                Err(denial)
            }
        }
    }
}

/// A scope, as a type; declare one with [`scope!`](crate::scope!).
pub trait ScopeName: Send + Sync + 'static {
    /// The scope, as it appears in `scope` or `permissions`.
    const SCOPE: &'static str;
    /// The description of the refusal in the spec.
    const DENIED: &'static str;
}

/// The scope `S`, in the token's `scope` claim or in Auth0's `permissions`; otherwise 403
/// `insufficient_scope` with `scope="…"` in the challenge.
pub struct Scope<S>(std::marker::PhantomData<S>);

impl<S: ScopeName> Requirement for Scope<S> {
    fn describe(doc: &mut RequirementDoc) {
        doc.scope(S::SCOPE);
        doc.refusal(403, S::DENIED);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        if access.claims.scopes().contains(S::SCOPE) {
            return Ok(());
        }
        let description = format!("the token lacks the scope {}", S::SCOPE);
        Err(Denial::new(403, ErrorCode::InsufficientScope, "insufficient_scope", description)
            .with_challenge("scope", S::SCOPE))
    }
}

/// Declares a scope as a type, for [`Scope`]:
///
/// ```
/// use jwt_resource_server::{Access, Claims, Requirement, Scheme, Scope, Timestamp, scope};
///
/// scope!(
///     /// Reading messages.
///     pub ReadMessages = "read:messages"
/// );
///
/// let claims = Claims::from_json(r#"{"scope": "openid read:messages"}"#.to_owned()).unwrap();
/// let access = Access::new(&claims, Scheme::Bearer, Timestamp::default(), &());
/// assert!(Scope::<ReadMessages>::check(&access).is_ok());
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$meta:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$meta])*
        $vis struct $name;

        impl $crate::ScopeName for $name {
            const SCOPE: &'static str = $scope;
            const DENIED: &'static str = concat!(
                "The access token does not grant the scope `", $scope,
                "` (neither in its `scope` claim nor in its `permissions`)"
            );
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::scope!(Read = "read:messages");
    crate::scope!(Write = "write:messages");

    fn access(claims: &Claims, scheme: Scheme) -> Access<'_> {
        Access::new(claims, scheme, Timestamp::default(), &())
    }

    #[test]
    fn a_scope_comes_from_scope_or_permissions_and_its_refusal_names_it() {
        let claims = Claims::from_json(r#"{"scope": "openid", "permissions": ["read:messages"]}"#.to_owned()).unwrap();
        assert!(Scope::<Read>::check(&access(&claims, Scheme::Bearer)).is_ok());
        let denial = Scope::<Write>::check(&access(&claims, Scheme::Bearer)).unwrap_err();
        assert_eq!(
            (denial.status, denial.code, denial.reason),
            (403, ErrorCode::InsufficientScope, "insufficient_scope")
        );
        assert_eq!(denial.challenge, [("scope", "write:messages".to_owned())]);
        assert_eq!(denial.to_string(), "the token lacks the scope write:messages");
    }

    #[test]
    fn a_tuple_checks_each_and_documents_all() {
        let claims = Claims::from_json(r#"{"scope": "read:messages"}"#.to_owned()).unwrap();
        type Both = (Scope<Read>, DpopOnly);
        assert!(<Both>::check(&access(&claims, Scheme::Dpop)).is_ok());
        assert!(<Both>::check(&access(&claims, Scheme::Bearer)).unwrap_err().dpop_only);
        let doc = RequirementDoc::of::<(Scope<Read>, Scope<Write>, DpopOnly)>();
        assert_eq!(doc.scopes, ["read:messages", "write:messages"]);
        assert_eq!(doc.refusals.iter().map(|(status, _)| *status).collect::<Vec<_>>(), [403, 403, 401]);
        assert!(doc.dpop_only);
        assert_eq!(RequirementDoc::of::<()>(), RequirementDoc::default());
    }
}
