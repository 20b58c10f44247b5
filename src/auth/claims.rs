//! The claims of a verified access token, typed where Auth0 defines them and kept whole otherwise.
//!
//! The claims set is read strictly (RFC 7519 §4, §7.2): a JSON object whose claim names are
//! unique; `exp`, `nbf` and `iat` are whole seconds from 0 to `i64::MAX`; `iss`, `sub`, `scope`,
//! `azp` and `client_id` are strings, `aud` a string or an array of strings, `permissions` an
//! array of strings. A `null` counts as absent, except for the time claims.

use std::{borrow::Cow, fmt, sync::OnceLock};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, MapAccess, Visitor},
};
use serde_json::{Map, Value, map::Entry, value::RawValue};

use super::json_object::{Text, duplicate};

/// The claims of an access token. Claims without a field of their own stay in `extra`, so a
/// response echoing the claims shows everything the token carried.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Claims {
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject: the user (`auth0|…`) or the client (`…@clients`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: one identifier or several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiry, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not-before time, in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Space-separated OAuth 2.0 scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Auth0 RBAC permissions ("Add Permissions in the Access Token").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Authorized party: the client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// The client the token was issued to (RFC 9068).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Every other claim, as the token carried it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// These claims as JSON, rendered once: a cached token's claims are echoed on every request.
    #[serde(skip)]
    rendered: Rendered,
}

/// The JSON of a `Claims`, rendered on first use.
#[derive(Debug, Clone, Default)]
struct Rendered(OnceLock<Box<RawValue>>);

impl PartialEq for Rendered {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Claims {
    /// Parses the JSON payload of a token, keeping the payload itself as the claims' JSON, so
    /// the response echoes the token's claims without serializing them again.
    pub fn from_payload(json: Vec<u8>) -> serde_json::Result<Self> {
        let claims: Claims = serde_json::from_slice(&json)?;
        if let Ok(text) = String::from_utf8(json)
            && let Ok(raw) = RawValue::from_string(text)
        {
            let _ = claims.rendered.0.set(raw);
        }
        Ok(claims)
    }

    /// These claims as JSON; rendered on the first call and kept.
    pub fn as_json(&self) -> &RawValue {
        self.rendered.0.get_or_init(|| {
            serde_json::value::to_raw_value(self)
                .unwrap_or_else(|_| RawValue::from_string("{}".into()).expect("valid JSON"))
        })
    }

    /// Serializes claims behind an `Arc` from their rendered JSON (for `serialize_with`).
    pub fn serialize_rendered<S: serde::Serializer>(
        claims: &std::sync::Arc<Claims>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(claims.as_json(), serializer)
    }

    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6), if any.
    pub fn confirmation_key(&self) -> Option<&str> {
        self.extra.get("cnf")?.get("jkt")?.as_str()
    }

    /// Whether the token is bound to a key (a `cnf` claim, RFC 7800): such a token is no bearer
    /// token, whatever the key's kind.
    pub fn is_bound(&self) -> bool {
        self.extra.get("cnf").is_some_and(|cnf| !cnf.is_null())
    }

    /// The scopes and permissions this token grants.
    pub fn scopes(&self) -> Scopes<'_> {
        Scopes {
            scope: self.scope.as_deref().unwrap_or_default(),
            permissions: self.permissions.as_deref().unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

/// The claims with a field of their own, in the order of `seen` below.
const TYPED: [&str; 10] = ["iss", "sub", "aud", "exp", "iat", "nbf", "scope", "permissions", "azp", "client_id"];

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = Claims;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut claims = Claims::default();
        let mut seen = [false; TYPED.len()];
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let Some(index) = TYPED.iter().position(|typed| *typed == name) else {
                let value = map.next_value::<Value>()?;
                match claims.extra.entry(name.into_owned()) {
                    Entry::Occupied(taken) => return Err(duplicate(taken.key())),
                    Entry::Vacant(free) => free.insert(value),
                };
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(duplicate(&name));
            }
            match TYPED[index] {
                "iss" => claims.iss = map.next_value()?,
                "sub" => claims.sub = map.next_value()?,
                "aud" => claims.aud = map.next_value()?,
                "exp" => claims.exp = Some(map.next_value::<NumericDate>()?.0),
                "iat" => claims.iat = Some(map.next_value::<NumericDate>()?.0),
                "nbf" => claims.nbf = Some(map.next_value::<NumericDate>()?.0),
                "scope" => claims.scope = map.next_value()?,
                "permissions" => claims.permissions = map.next_value()?,
                "azp" => claims.azp = map.next_value()?,
                _ => claims.client_id = map.next_value()?,
            }
        }
        Ok(claims)
    }
}

/// A time claim: whole seconds since the Unix epoch, from 0 to `i64::MAX`.
pub(crate) struct NumericDate(pub i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumericDateVisitor;
        impl Visitor<'_> for NumericDateVisitor {
            type Value = NumericDate;
            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("whole seconds since the Unix epoch, 0 or more")
            }
            fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Self::Value, E> {
                i64::try_from(seconds).map(NumericDate).map_err(|_| E::custom("a time past the year 292277026596"))
            }
        }
        deserializer.deserialize_u64(NumericDateVisitor)
    }
}

/// `aud` as Auth0 writes it: a string, or an array when the token is also for `/userinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among them.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// What a token is allowed to do: the words of its `scope` claim and the entries of its
/// `permissions` claim.
#[derive(Debug, Clone, Copy)]
pub struct Scopes<'a> {
    scope: &'a str,
    permissions: &'a [String],
}

impl<'a> Scopes<'a> {
    /// Whether the token grants `wanted`.
    pub fn contains(&self, wanted: &str) -> bool {
        self.iter().any(|granted| granted == wanted)
    }

    /// Every scope and permission, in token order (duplicates possible).
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let permissions = self.permissions;
        self.scope.split_ascii_whitespace().chain(permissions.iter().map(String::as_str))
    }
}

impl Type for Claims {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "Claims".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| {
            let text = |description| described(MetaSchema::new("string"), description);
            let time = |description| described(MetaSchema::new_with_format("integer", "int64"), description);
            let texts = |description| {
                described(
                    MetaSchema { items: Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))))), ..MetaSchema::new("array") },
                    description,
                )
            };
            let audience = MetaSchema {
                one_of: vec![
                    MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                    texts("several audiences"),
                ],
                ..MetaSchema::ANY
            };
            MetaSchema {
                description: Some("The claims of the verified access token; claims not listed here are included as the token carried them."),
                properties: vec![
                    ("iss", text("Issuer")),
                    ("sub", text("Subject: the user (auth0|…) or the client (…@clients)")),
                    ("aud", described(audience, "Audience: one identifier or several")),
                    ("exp", time("Expiry, seconds since the Unix epoch")),
                    ("iat", time("Issue time, seconds since the Unix epoch")),
                    ("nbf", time("Not-before time, seconds since the Unix epoch")),
                    ("scope", text("Space-separated OAuth 2.0 scopes")),
                    ("permissions", texts("Auth0 RBAC permissions")),
                    ("azp", text("Authorized party: the client the token was issued to")),
                    ("client_id", text("The client the token was issued to")),
                ],
                additional_properties: Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::ANY)))),
                ..MetaSchema::new("object")
            }
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

fn described(schema: MetaSchema, description: &'static str) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema { description: Some(description), ..schema }))
}

impl ToJSON for Claims {
    fn to_json(&self) -> Option<Value> {
        serde_json::to_value(self).ok()
    }
}

impl ParseFromJSON for Claims {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        serde_json::from_value(value.unwrap_or_default()).map_err(|e| ParseError::custom(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_claims_survive_a_round_trip() {
        let token = json!({"sub": "auth0|1", "aud": ["a", "b"], "https://example.com/roles": ["admin"], "gty": "client-credentials"});
        let claims: Claims = serde_json::from_value(token.clone()).unwrap();
        assert_eq!(claims.aud, Some(Audience::Many(vec!["a".into(), "b".into()])));
        assert_eq!(serde_json::to_value(&claims).unwrap(), token);
    }

    #[test]
    fn claims_parsed_from_a_payload_echo_it_verbatim() {
        let payload = r#"{"https://example.com/roles":["admin"],"sub":"auth0|1","exp":1800000000,"n":1.5e3}"#;
        let claims = Claims::from_payload(payload.as_bytes().to_vec()).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("auth0|1"));
        assert_eq!(claims.exp, Some(1_800_000_000));
        assert_eq!(claims.as_json().get(), payload);
        assert!(Claims::from_payload(b"[1, 2]".to_vec()).is_err());
        assert!(Claims::from_payload(br#"{"exp": "soon"}"#.to_vec()).is_err());
    }

    #[test]
    fn the_claims_set_is_an_object_with_unique_names() {
        for refused in [
            "[1, 2]",
            r#""claims""#,
            "null",
            r#"{"exp": 1, "exp": 2}"#,
            r#"{"sub": "a", "\u0073ub": "b"}"#,
            r#"{"https://example.com/roles": [], "https://example.com/roles": ["admin"]}"#,
        ] {
            let error = Claims::from_payload(refused.as_bytes().to_vec()).unwrap_err().to_string();
            assert!(
                error.contains("expected a JSON object") || error.contains("appears more than once"),
                "{refused}: {error}"
            );
        }
        assert!(Claims::from_payload(br#"{"nested": {"a": 1}, "sub": null}"#.to_vec()).unwrap().sub.is_none());
    }

    #[test]
    fn times_are_whole_seconds_and_typed_claims_have_their_types() {
        let parse = |json: &str| Claims::from_payload(json.as_bytes().to_vec());
        assert_eq!(parse(r#"{"exp": 9223372036854775807, "iat": 0}"#).unwrap().exp, Some(i64::MAX));
        for refused in [
            r#"{"exp": 1.8e9}"#,
            r#"{"exp": 1800000000.0}"#,
            r#"{"nbf": -1}"#,
            r#"{"exp": null}"#,
            r#"{"iat": 9223372036854775808}"#,
            r#"{"iat": "2026-12-01"}"#,
            r#"{"sub": 5}"#,
            r#"{"iss": ["https://tenant.example/"]}"#,
            r#"{"aud": ["a", 5]}"#,
            r#"{"scope": ["read:messages"]}"#,
            r#"{"permissions": "read:messages"}"#,
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn scopes_come_from_scope_and_permissions() {
        let claims: Claims =
            serde_json::from_value(json!({"scope": "openid  profile", "permissions": ["read:messages"]})).unwrap();
        let scopes = claims.scopes();
        assert!(scopes.contains("profile") && scopes.contains("read:messages"));
        assert!(!scopes.contains("read"));
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["openid", "profile", "read:messages"]);
    }
}
