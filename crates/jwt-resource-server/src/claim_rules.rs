//! The checks a verified token's claims must pass: issuer, audience, expiry, not-before, an
//! issue time that is not in the future, and what the token profile adds.

use std::time::Duration;

use serde::Deserialize;

use crate::{
    claims::Claims,
    rejection::{TokenRejection, echoed},
};

/// What kind of JWT an access token must be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenProfile {
    /// Any signed JWT that passes the other checks: Auth0's default access tokens (`typ: JWT`,
    /// `azp`, no `jti`).
    #[default]
    Any,
    /// The JWT profile for OAuth 2.0 access tokens (RFC 9068): `typ` is `at+jwt` and `iss`, `exp`,
    /// `aud`, `sub`, `client_id`, `iat` and `jti` are present, so an ID token or another JWT of the
    /// same issuer is never taken for an access token.
    Rfc9068,
}

/// The claims RFC 9068 §2.2 requires besides `iss`, `aud` and `exp`, which every token needs.
const RFC9068_CLAIMS: [&str; 4] = ["sub", "client_id", "iat", "jti"];

impl TokenProfile {
    /// Checks the JOSE header's `typ` (RFC 9068 §2.1; compared case-insensitively, with or
    /// without the `application/` prefix, RFC 7515 §4.1.9).
    pub(crate) fn check_type(self, typ: Option<&str>) -> Result<(), TokenRejection> {
        let is_access_token = |typ: &str| {
            let typ =
                typ.get(..12).filter(|prefix| prefix.eq_ignore_ascii_case("application/")).map_or(typ, |_| &typ[12..]);
            typ.eq_ignore_ascii_case("at+jwt")
        };
        match (self, typ) {
            (TokenProfile::Any, _) => Ok(()),
            (TokenProfile::Rfc9068, Some(typ)) if is_access_token(typ) => Ok(()),
            (TokenProfile::Rfc9068, typ) => Err(TokenRejection::NotAnAccessToken {
                typ: typ.map(|typ| {
                    typ.chars().filter(|c| c.is_ascii_alphanumeric() || "+/-.".contains(*c)).take(32).collect()
                }),
            }),
        }
    }

    fn check_claims(self, claims: &Claims) -> Result<(), TokenRejection> {
        if self == TokenProfile::Any {
            return Ok(());
        }
        for claim in RFC9068_CLAIMS {
            let present = match claim {
                "sub" => claims.sub().is_some(),
                "client_id" => claims.client_id().is_some(),
                "iat" => claims.iat().is_some(),
                _ => claims.jti().is_some(),
            };
            if !present {
                return Err(TokenRejection::MissingClaim(claim));
            }
        }
        Ok(())
    }
}

/// What every accepted token must say about who issued it, for whom, and when.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// The exact `iss` expected.
    pub issuer: String,
    /// The audiences of which `aud` must contain one (at least one is given).
    pub audiences: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// What kind of JWT the token must be.
    pub profile: TokenProfile,
}

impl ClaimRules {
    /// Checks `claims` at the Unix time `now`.
    pub fn check(&self, claims: &Claims, now: i64) -> Result<(), TokenRejection> {
        match claims.iss() {
            None => return Err(TokenRejection::MissingClaim("iss")),
            Some(iss) if iss != self.issuer => {
                return Err(TokenRejection::BadIssuer { expected: self.issuer.clone(), found: echoed(iss) });
            }
            Some(_) => {}
        }
        if !claims.has_aud() {
            return Err(TokenRejection::MissingClaim("aud"));
        }
        if !claims.audiences().any(|audience| self.audiences.iter().any(|expected| expected == audience)) {
            return Err(TokenRejection::BadAudience { expected: self.audiences.join(", ") });
        }
        if let Some(iat) = claims.iat()
            && iat.saturating_sub(self.leeway_seconds()) > now
        {
            return Err(TokenRejection::IssuedInTheFuture { at: iat });
        }
        self.profile.check_claims(claims)?;
        self.check_times(claims, now)
    }

    /// Checks only `exp` and `nbf` at the Unix time `now` (for a token verified before).
    pub fn check_times(&self, claims: &Claims, now: i64) -> Result<(), TokenRejection> {
        let leeway = self.leeway_seconds();
        match claims.exp() {
            None => return Err(TokenRejection::MissingClaim("exp")),
            Some(exp) if exp.saturating_add(leeway) <= now => return Err(TokenRejection::Expired { at: exp }),
            Some(_) => {}
        }
        if let Some(nbf) = claims.nbf()
            && nbf.saturating_sub(leeway) > now
        {
            return Err(TokenRejection::NotYetValid { at: nbf });
        }
        Ok(())
    }

    /// How long a token with these claims stays acceptable after the Unix time `now`.
    pub fn remaining_validity(&self, claims: &Claims, now: i64) -> std::time::Duration {
        let until = claims.exp().map_or(0, |exp| exp.saturating_add(self.leeway_seconds()).saturating_sub(now));
        std::time::Duration::from_secs(u64::try_from(until).unwrap_or(0))
    }

    fn leeway_seconds(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://tenant.example/".into(),
            audiences: vec!["https://api.example.com".into()],
            leeway: Duration::from_secs(10),
            profile: TokenProfile::Any,
        }
    }

    fn claims(changes: serde_json::Value) -> Claims {
        let mut base = json!({"iss": "https://tenant.example/", "aud": "https://api.example.com", "exp": NOW + 60});
        for (name, value) in changes.as_object().unwrap() {
            match value {
                serde_json::Value::Null => base.as_object_mut().unwrap().remove(name),
                value => base.as_object_mut().unwrap().insert(name.clone(), value.clone()),
            };
        }
        Claims::from_json(base.to_string()).unwrap()
    }

    #[test]
    fn accepts_a_matching_token_and_an_audience_array_containing_ours() {
        assert_eq!(rules().check(&claims(json!({})), NOW), Ok(()));
        let many = claims(json!({"aud": ["https://tenant.example/userinfo", "https://api.example.com"]}));
        assert_eq!(rules().check(&many, NOW), Ok(()));
    }

    #[test]
    fn expiry_and_not_before_honour_the_leeway() {
        assert_eq!(rules().check(&claims(json!({"exp": NOW - 5})), NOW), Ok(()));
        assert_eq!(
            rules().check(&claims(json!({"exp": NOW - 10})), NOW),
            Err(TokenRejection::Expired { at: NOW - 10 })
        );
        assert_eq!(rules().check(&claims(json!({"nbf": NOW + 5})), NOW), Ok(()));
        assert_eq!(
            rules().check(&claims(json!({"nbf": NOW + 11})), NOW),
            Err(TokenRejection::NotYetValid { at: NOW + 11 })
        );
    }

    #[test]
    fn an_issue_time_in_the_future_is_refused_past_the_leeway() {
        assert_eq!(rules().check(&claims(json!({"iat": NOW + 10})), NOW), Ok(()));
        assert_eq!(
            rules().check(&claims(json!({"iat": NOW + 11})), NOW),
            Err(TokenRejection::IssuedInTheFuture { at: NOW + 11 })
        );
        assert_eq!(rules().check(&claims(json!({"iat": NOW - 86_400})), NOW), Ok(()));
    }

    #[test]
    fn issuer_audience_and_expiry_are_required() {
        assert_eq!(rules().check(&claims(json!({"exp": null})), NOW), Err(TokenRejection::MissingClaim("exp")));
        assert_eq!(rules().check(&claims(json!({"aud": null})), NOW), Err(TokenRejection::MissingClaim("aud")));
        assert_eq!(rules().check(&claims(json!({"iss": null})), NOW), Err(TokenRejection::MissingClaim("iss")));
        let other = claims(json!({"iss": "https://tenant.example"}));
        assert!(matches!(rules().check(&other, NOW), Err(TokenRejection::BadIssuer { .. })));
    }

    #[test]
    fn the_rfc_9068_profile_needs_an_access_token_type_and_its_claims() {
        let profile = TokenProfile::Rfc9068;
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"] {
            assert_eq!(profile.check_type(Some(typ)), Ok(()), "{typ}");
        }
        assert_eq!(profile.check_type(Some("JWT")), Err(TokenRejection::NotAnAccessToken { typ: Some("JWT".into()) }));
        assert_eq!(profile.check_type(None), Err(TokenRejection::NotAnAccessToken { typ: None }));
        assert_eq!(TokenProfile::Any.check_type(Some("JWT")), Ok(()));

        let strict = ClaimRules { profile, ..rules() };
        let complete = json!({"sub": "auth0|u", "client_id": "c", "iat": NOW - 5, "jti": "j1"});
        assert_eq!(strict.check(&claims(complete.clone()), NOW), Ok(()));
        for missing in ["sub", "client_id", "iat", "jti"] {
            let mut partial = complete.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert_eq!(strict.check(&claims(partial), NOW), Err(TokenRejection::MissingClaim(missing)), "{missing}");
        }
        assert_eq!(rules().check(&claims(json!({})), NOW), Ok(()), "the default profile needs none of them");
    }
}
