//! Step-up authentication (RFC 9470): an operation that needs the user to have signed in in a
//! certain way (`acr`) or recently (`auth_time`). A token that falls short gets 401
//! `insufficient_user_authentication`, its challenge naming the `acr_values` and `max_age` to ask
//! the authorization server for; the client signs the user in again with them.
//!
//! - [`AuthContext<A>`]: the token's authentication context is one of `A`'s values (declare them
//!   with [`acr!`](crate::acr!));
//! - [`MaxAge<N>`]: the user authenticated at most `N` seconds ago;
//! - [`StepUp<A, N>`]: both, one challenge naming both.
//!
//! Auth0 does not let Actions set `acr`, `amr` or `auth_time` in access tokens: a post-login
//! Action sets a claim of its own once the user passed MFA. [`AcrClaim`] makes such a claim (or
//! `amr` containing `mfa`) stand for an `acr` value, and
//! [`auth_time_claim`](crate::ResourceServerBuilder::auth_time_claim) names the claim that stands
//! for `auth_time`.
//!
//! ```
//! use jwt_resource_server::{Access, Claims, Requirement, Scheme, StepUp, Timestamp, acr};
//!
//! acr!(
//!     /// Multi-factor authentication, as Auth0 names it.
//!     pub Mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
//! );
//!
//! let signed_in = r#"{"acr": "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "auth_time": 1000}"#;
//! let claims = Claims::from_json(signed_in.to_owned()).unwrap();
//! let at = |seconds| Access::new(&claims, Scheme::Bearer, Timestamp::from_unix_seconds(seconds), &());
//! assert!(StepUp::<Mfa, 600>::check(&at(1600)).is_ok());
//! let denial = StepUp::<Mfa, 600>::check(&at(1601)).unwrap_err();
//! assert_eq!((denial.status, denial.code.as_str()), (401, "insufficient_user_authentication"));
//! assert_eq!(denial.challenge[1], ("max_age", "600".to_owned()));
//! ```

use serde_json::Value;

use crate::{
    claims::Claims,
    code::ErrorCode,
    rejection::echoed,
    requirement::{Access, Denial, Requirement, RequirementDoc},
};

/// A claim that stands for an `acr` value when the token has no `acr`, as an Auth0 Action writes
/// it: the claim is `true`, or, with [`containing`](Self::containing), a string equal to the value
/// or an array holding it (`amr` containing `mfa`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcrClaim {
    acr: String,
    claim: String,
    value: Option<String>,
}

impl AcrClaim {
    /// The claim `claim`, when `true`, stands for the authentication context `acr`.
    pub fn new(acr: impl Into<String>, claim: impl Into<String>) -> Self {
        AcrClaim { acr: acr.into(), claim: claim.into(), value: None }
    }

    /// The same, but the claim must be `value` or an array holding it.
    pub fn containing(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// The `acr` value it stands for.
    pub fn acr(&self) -> &str {
        &self.acr
    }

    /// The claim's name.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// The value the claim must be or hold; `None`: `true`.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Whether `claims` carry the claim as it must be.
    fn holds(&self, claims: &Claims) -> bool {
        match (claims.get::<Value>(&self.claim), &self.value) {
            (Some(Value::Bool(true)), None) => true,
            (Some(Value::String(found)), Some(value)) => found == *value,
            (Some(Value::Array(items)), Some(value)) => items.iter().any(|item| item.as_str() == Some(value)),
            _ => false,
        }
    }
}

/// The authentication context values an operation accepts, as a type; declare one with
/// [`acr!`](crate::acr!).
pub trait AcrValues: Send + Sync + 'static {
    /// The accepted values, in order of preference.
    const VALUES: &'static [&'static str];
    /// The values space-separated, as `acr_values` writes them.
    const JOINED: &'static str;
}

/// Declares the authentication context values an operation accepts, as a type:
/// `acr!(pub Mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor")`, or several
/// values separated by commas.
#[macro_export]
macro_rules! acr {
    ($(#[$meta:meta])* $vis:vis $name:ident = $first:literal $(, $rest:literal)* $(,)?) => {
        $(#[$meta])*
        $vis struct $name;

        impl $crate::AcrValues for $name {
            const VALUES: &'static [&'static str] = &[$first $(, $rest)*];
            const JOINED: &'static str = concat!($first $(, " ", $rest)*);
        }
    };
}

/// The user signed in with one of `A`'s authentication contexts.
pub struct AuthContext<A>(std::marker::PhantomData<A>);

/// The user signed in at most `SECONDS` ago.
pub struct MaxAge<const SECONDS: u64>;

/// The user signed in with one of `A`'s authentication contexts, at most `SECONDS` ago.
pub struct StepUp<A, const SECONDS: u64>(std::marker::PhantomData<A>);

const CONTEXT: &str = "The user must sign in again with a stronger authentication (`insufficient_user_authentication`, RFC 9470): the challenge's `acr_values` names the authentication context needed";
const RECENT: &str = "The user must sign in again (`insufficient_user_authentication`, RFC 9470): the authentication is older than the challenge's `max_age` seconds, or the token does not say when it was";
const BOTH: &str = "The user must sign in again (`insufficient_user_authentication`, RFC 9470), with the authentication context and within the age the challenge names in `acr_values` and `max_age`";

impl<A: AcrValues> Requirement for AuthContext<A> {
    fn describe(doc: &mut RequirementDoc) {
        doc.refusal(401, CONTEXT);
        doc.acr_values(A::VALUES);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        context_problem::<A>(access)
            .map_or(Ok(()), |problem| Err(insufficient(problem).with_challenge("acr_values", A::JOINED)))
    }
}

impl<const SECONDS: u64> Requirement for MaxAge<SECONDS> {
    fn describe(doc: &mut RequirementDoc) {
        doc.refusal(401, RECENT);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        age_problem(access, SECONDS)
            .map_or(Ok(()), |problem| Err(insufficient(problem).with_challenge("max_age", SECONDS.to_string())))
    }
}

impl<A: AcrValues, const SECONDS: u64> Requirement for StepUp<A, SECONDS> {
    fn describe(doc: &mut RequirementDoc) {
        doc.refusal(401, BOTH);
        doc.acr_values(A::VALUES);
    }

    fn check(access: &Access<'_>) -> Result<(), Denial> {
        let problem = context_problem::<A>(access).or_else(|| age_problem(access, SECONDS));
        problem.map_or(Ok(()), |problem| {
            Err(insufficient(problem)
                .with_challenge("acr_values", A::JOINED)
                .with_challenge("max_age", SECONDS.to_string()))
        })
    }
}

/// What the token lacks of `A`'s contexts: its `acr`, or a claim standing for one, must be one.
fn context_problem<A: AcrValues>(access: &Access<'_>) -> Option<String> {
    let claims = access.claims;
    if claims.acr().is_some_and(|acr| A::VALUES.contains(&acr)) {
        return None;
    }
    let stands_for = |claim: &&AcrClaim| A::VALUES.contains(&claim.acr.as_str()) && claim.holds(claims);
    if access.policy.acr_claims().iter().any(|claim| stands_for(&claim)) {
        return None;
    }
    let found = match claims.acr() {
        Some(acr) => format!("the token's authentication context is {}", echoed(acr)),
        None => "the token names no authentication context".to_owned(),
    };
    Some(format!("{found}; this operation needs {}: sign in again with acr_values={}", A::JOINED, A::JOINED))
}

/// What is wrong with the age of the token's authentication, at most `max_age` seconds.
fn age_problem(access: &Access<'_>, max_age: u64) -> Option<String> {
    let claim = access.policy.auth_time_claim();
    let auth_time = access.claims.auth_time().or_else(|| claim.and_then(|name| access.claims.get::<i64>(name)));
    let Some(auth_time) = auth_time else {
        return Some(format!(
            "the token does not say when the user authenticated (no auth_time); this operation needs an authentication within {max_age} s"
        ));
    };
    let age = access.now.unix_seconds().saturating_sub(auth_time);
    (age > i64::try_from(max_age).unwrap_or(i64::MAX)).then(|| {
        format!("the user authenticated {age} s ago; this operation needs an authentication within {max_age} s: sign in again")
    })
}

fn insufficient(description: String) -> Denial {
    Denial::new(401, ErrorCode::InsufficientUserAuthentication, "insufficient_user_authentication", description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessPolicy, Scheme, Timestamp};

    crate::acr!(Mfa = "mfa-uri", "phr");

    fn check<R: Requirement>(claims: &str, now: u64, policy: &AccessPolicy) -> Result<(), Denial> {
        let claims = Claims::from_json(claims.to_owned()).unwrap();
        R::check(&Access::new(&claims, Scheme::Bearer, Timestamp::from_unix_seconds(now), &()).with_policy(policy))
    }

    #[test]
    fn the_context_comes_from_acr_or_a_claim_standing_for_it() {
        let plain = AccessPolicy::default();
        assert_eq!(Mfa::JOINED, "mfa-uri phr");
        assert!(check::<AuthContext<Mfa>>(r#"{"acr": "phr"}"#, 0, &plain).is_ok());
        let denial = check::<AuthContext<Mfa>>(r#"{"acr": "pwd"}"#, 0, &plain).unwrap_err();
        assert_eq!(denial.challenge, [("acr_values", "mfa-uri phr".to_owned())]);
        assert!(denial.description.starts_with("the token's authentication context is pwd"));

        let auth0 = AccessPolicy::default().with_acr_claims([
            AcrClaim::new("mfa-uri", "https://example.com/mfa"),
            AcrClaim::new("mfa-uri", "amr").containing("mfa"),
        ]);
        assert!(check::<AuthContext<Mfa>>(r#"{"https://example.com/mfa": true}"#, 0, &auth0).is_ok());
        assert!(check::<AuthContext<Mfa>>(r#"{"amr": ["pwd", "mfa"]}"#, 0, &auth0).is_ok());
        assert!(check::<AuthContext<Mfa>>(r#"{"https://example.com/mfa": "yes"}"#, 0, &auth0).is_err());
        assert!(check::<AuthContext<Mfa>>(r#"{"amr": ["pwd"]}"#, 0, &auth0).is_err());
    }

    #[test]
    fn the_age_is_counted_from_auth_time_or_the_claim_standing_for_it() {
        let plain = AccessPolicy::default();
        assert!(check::<MaxAge<60>>(r#"{"auth_time": 100}"#, 160, &plain).is_ok());
        let denial = check::<MaxAge<60>>(r#"{"auth_time": 100}"#, 161, &plain).unwrap_err();
        assert_eq!(denial.challenge, [("max_age", "60".to_owned())]);
        assert!(check::<MaxAge<60>>("{}", 0, &plain).unwrap_err().description.contains("no auth_time"));
        let auth0 = AccessPolicy::default().with_auth_time_claim("https://example.com/auth_time");
        assert!(check::<MaxAge<60>>(r#"{"https://example.com/auth_time": 100}"#, 130, &auth0).is_ok());
        let both = check::<StepUp<Mfa, 60>>(r#"{"acr": "phr", "auth_time": 0}"#, 61, &plain).unwrap_err();
        let names: Vec<_> = both.challenge.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["acr_values", "max_age"]);
    }
}
