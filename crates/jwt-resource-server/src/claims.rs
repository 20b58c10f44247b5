//! The claims of an access token, read strictly and kept compactly.
//!
//! The claims set must be a JSON object whose member names are unique (RFC 7519 §4). The
//! registered claims read here have their types: `exp`, `iat`, `nbf` and `auth_time` are whole
//! seconds from 0 to `i64::MAX`; `iss`, `sub`, `scope`, `azp`, `client_id`, `jti`, `acr`,
//! `org_id` and `org_name` are strings, `aud` a string or an array of strings, `permissions` and
//! `amr` arrays of strings, `cnf` an object (RFC 7800) whose `jkt` is a string. A `null` counts
//! as absent, except for the time claims. Any other claim is read on demand ([`Claims::get`]) or
//! into a type of your own (typed custom claims).
//!
//! A verified token's claims stay in the token cache, so they are kept in as few allocations as
//! possible: the payload itself (echoed verbatim by the private routes), and the registered
//! claims as spans into it. Only a string written with JSON escapes is copied, decoded, into a
//! second buffer. An entry's size is then the payload's size plus a few bytes per audience and
//! permission, which is what the token cache's weigher counts ([`Claims::heap_bytes`]).

use std::{borrow::Cow, collections::HashSet, fmt};

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::value::RawValue;

use crate::json_object::{Text, duplicate};

/// The claims of an access token: its JSON payload and the registered claims read from it.
pub struct Claims {
    /// The payload, as the token carried it.
    json: Box<RawValue>,
    /// The strings that were written with JSON escapes, decoded, one after the other.
    unescaped: Box<str>,
    registered: Registered,
}

/// Where a string claim is: a range of the payload, or of the decoded strings when
/// [`Span::UNESCAPED`] is set in `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    at: u32,
    len: u32,
}

impl Span {
    const UNESCAPED: u32 = 1 << 31;
}

/// The registered claims, as spans and numbers.
#[derive(Debug, Default)]
struct Registered {
    iss: Option<Span>,
    sub: Option<Span>,
    azp: Option<Span>,
    client_id: Option<Span>,
    scope: Option<Span>,
    jti: Option<Span>,
    acr: Option<Span>,
    org_id: Option<Span>,
    org_name: Option<Span>,
    aud: Option<Box<[Span]>>,
    permissions: Option<Box<[Span]>>,
    amr: Option<Box<[Span]>>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    auth_time: Option<i64>,
    /// `cnf`: present and not `null`.
    bound: bool,
    /// `cnf.jkt`.
    jkt: Option<Span>,
}

/// Why a payload is not a claims set: serde_json's error, whose text says what was wrong.
pub type ClaimsError = serde_json::Error;

impl Claims {
    /// Reads the JSON payload of a token, which is kept as the claims' JSON.
    pub fn from_payload(payload: Vec<u8>) -> Result<Self, ClaimsError> {
        let text = String::from_utf8(payload)
            .map_err(|_| <ClaimsError as de::Error>::custom("the claims are not UTF-8 text"))?;
        Self::from_json(text)
    }

    /// Reads a claims set written as JSON text.
    pub fn from_json(text: String) -> Result<Self, ClaimsError> {
        if u32::try_from(text.len()).map_or(true, |len| len >= Span::UNESCAPED) {
            return Err(de::Error::custom("the claims are larger than 2 GiB"));
        }
        let json = RawValue::from_string(text)?;
        let mut reader = Reader { base: json.get(), unescaped: String::new() };
        let mut deserializer = serde_json::Deserializer::from_str(json.get());
        let registered = (&mut deserializer).deserialize_map(ClaimsVisitor { reader: &mut reader })?;
        deserializer.end()?;
        let unescaped = reader.unescaped.into_boxed_str();
        Ok(Claims { json, unescaped, registered })
    }

    /// These claims as the token carried them.
    pub fn as_json(&self) -> &RawValue {
        &self.json
    }

    /// Issuer.
    pub fn iss(&self) -> Option<&str> {
        self.text(self.registered.iss)
    }

    /// Subject: the user (`auth0|…`) or the client (`…@clients`).
    pub fn sub(&self) -> Option<&str> {
        self.text(self.registered.sub)
    }

    /// Authorized party: the client the token was issued to.
    pub fn azp(&self) -> Option<&str> {
        self.text(self.registered.azp)
    }

    /// The client the token was issued to (RFC 9068).
    pub fn client_id(&self) -> Option<&str> {
        self.text(self.registered.client_id)
    }

    /// The token's unique id.
    pub fn jti(&self) -> Option<&str> {
        self.text(self.registered.jti)
    }

    /// Expiry, in seconds since the Unix epoch.
    pub fn exp(&self) -> Option<i64> {
        self.registered.exp
    }

    /// Issue time, in seconds since the Unix epoch.
    pub fn iat(&self) -> Option<i64> {
        self.registered.iat
    }

    /// Not-before time, in seconds since the Unix epoch.
    pub fn nbf(&self) -> Option<i64> {
        self.registered.nbf
    }

    /// When the user authenticated, in seconds since the Unix epoch (OpenID Connect, RFC 9470).
    pub fn auth_time(&self) -> Option<i64> {
        self.registered.auth_time
    }

    /// The authentication context class the user authenticated with (`acr`, RFC 9470).
    pub fn acr(&self) -> Option<&str> {
        self.text(self.registered.acr)
    }

    /// The authentication methods used (`amr`, RFC 8176), such as `pwd` or `mfa`.
    pub fn amr(&self) -> impl Iterator<Item = &str> {
        self.texts(self.registered.amr.as_deref())
    }

    /// The organization the token was issued in (Auth0 Organizations).
    pub fn org_id(&self) -> Option<&str> {
        self.text(self.registered.org_id)
    }

    /// The organization's name, when the tenant puts it in tokens (Auth0 Organizations).
    pub fn org_name(&self) -> Option<&str> {
        self.text(self.registered.org_name)
    }

    /// The claim `name` read into `T`, or `None` when the token has no such claim or it does not
    /// fit `T`. Reads the payload on each call: for claims an operation reads often, declare a
    /// type of custom claims instead, read once and kept with the token.
    ///
    /// ```
    /// use jwt_resource_server::Claims;
    ///
    /// let claims = Claims::from_json(r#"{"https://example.com/roles": ["admin"]}"#.to_owned()).unwrap();
    /// assert_eq!(claims.get::<Vec<String>>("https://example.com/roles"), Some(vec!["admin".to_owned()]));
    /// assert_eq!(claims.get::<u64>("https://example.com/roles"), None);
    /// ```
    pub fn get<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        let members: std::collections::HashMap<Cow<'_, str>, &RawValue> = serde_json::from_str(self.json.get()).ok()?;
        serde_json::from_str(members.get(name)?.get()).ok()
    }

    /// Whether the token has an `aud` claim.
    pub fn has_aud(&self) -> bool {
        self.registered.aud.is_some()
    }

    /// The audiences of `aud`: one, or several when the token is also for `/userinfo`.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.texts(self.registered.aud.as_deref())
    }

    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6), if any.
    pub fn confirmation_key(&self) -> Option<&str> {
        self.text(self.registered.jkt)
    }

    /// Whether the token is bound to a key (a `cnf` claim, RFC 7800): such a token is no bearer
    /// token, whatever the key's kind.
    pub fn is_bound(&self) -> bool {
        self.registered.bound
    }

    /// The scopes and permissions this token grants.
    pub fn scopes(&self) -> Scopes<'_> {
        Scopes { claims: self }
    }

    /// The bytes these claims hold on the heap: what a cached token costs beyond its entry.
    pub fn heap_bytes(&self) -> usize {
        let spans = |list: &Option<Box<[Span]>>| list.as_ref().map_or(0, |spans| size_of_val(&**spans));
        self.json.get().len() + self.unescaped.len() + spans(&self.registered.aud) + spans(&self.registered.permissions)
    }

    /// Serializes claims behind an `Arc` as the token carried them (for `serialize_with`).
    pub fn serialize_rendered<S: serde::Serializer>(
        claims: &std::sync::Arc<Claims>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        claims.json.serialize(serializer)
    }

    fn text(&self, span: Option<Span>) -> Option<&str> {
        span.map(|span| self.resolve(span))
    }

    fn texts<'a>(&'a self, spans: Option<&'a [Span]>) -> impl Iterator<Item = &'a str> + 'a {
        spans.unwrap_or_default().iter().map(|span| self.resolve(*span))
    }

    fn resolve(&self, span: Span) -> &str {
        let (source, at) = if span.at & Span::UNESCAPED == 0 {
            (self.json.get(), span.at)
        } else {
            (&*self.unescaped, span.at & !Span::UNESCAPED)
        };
        let (start, end) = (at as usize, at as usize + span.len as usize);
        source.get(start..end).unwrap_or_default()
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Claims").field(&self.json.get()).finish()
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.json.get() == other.json.get()
    }
}

impl Serialize for Claims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// What a token is allowed to do: the words of its `scope` claim and the entries of its
/// `permissions` claim.
#[derive(Debug, Clone, Copy)]
pub struct Scopes<'a> {
    claims: &'a Claims,
}

impl<'a> Scopes<'a> {
    /// Whether the token grants `wanted`.
    pub fn contains(&self, wanted: &str) -> bool {
        self.iter().any(|granted| granted == wanted)
    }

    /// Every scope and permission, in token order (duplicates possible).
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let claims = self.claims;
        let scope = claims.text(claims.registered.scope).unwrap_or_default();
        scope.split_ascii_whitespace().chain(claims.texts(claims.registered.permissions.as_deref()))
    }
}

/// Turns the strings the parser hands over into spans: a string borrowed from the payload is a
/// range of it; one that had escapes is appended, decoded, to `unescaped`.
struct Reader<'de> {
    base: &'de str,
    unescaped: String,
}

impl<'de> Reader<'de> {
    fn keep(&mut self, text: Cow<'de, str>) -> Span {
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        let offset = (text.as_ptr() as usize).checked_sub(self.base.as_ptr() as usize);
        match (&text, offset) {
            (Cow::Borrowed(_), Some(offset)) if offset + text.len() <= self.base.len() => {
                // Below 2 GiB: `from_json` refuses larger payloads.
                Span { at: u32::try_from(offset).unwrap_or(0), len }
            }
            _ => {
                let at = u32::try_from(self.unescaped.len()).unwrap_or(0) | Span::UNESCAPED;
                self.unescaped.push_str(&text);
                Span { at, len }
            }
        }
    }
}

struct ClaimsVisitor<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

/// The claims read into [`Registered`], in the order of `seen` below.
const TYPED: [&str; 16] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "scope",
    "permissions",
    "azp",
    "client_id",
    "jti",
    "acr",
    "amr",
    "auth_time",
    "org_id",
    "org_name",
];

impl<'de> Visitor<'de> for ClaimsVisitor<'_, 'de> {
    type Value = Registered;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Registered, A::Error> {
        let reader = self.reader;
        let mut claims = Registered::default();
        let mut seen = [false; TYPED.len()];
        let mut cnf_seen = false;
        let mut others: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if name == "cnf" {
                if std::mem::replace(&mut cnf_seen, true) {
                    return Err(duplicate(&name));
                }
                claims.jkt = map.next_value_seed(Confirmation { reader: &mut *reader, bound: &mut claims.bound })?;
                continue;
            }
            let Some(index) = TYPED.iter().position(|typed| *typed == name) else {
                if others.contains(&name) {
                    return Err(duplicate(&name));
                }
                map.next_value::<IgnoredAny>()?;
                others.insert(name);
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(duplicate(&name));
            }
            let text = |reader: &mut Reader<'de>, value: Option<Text<'de>>| value.map(|Text(text)| reader.keep(text));
            match TYPED[index] {
                "iss" => claims.iss = text(reader, map.next_value()?),
                "sub" => claims.sub = text(reader, map.next_value()?),
                "aud" => claims.aud = map.next_value_seed(Audiences { reader: &mut *reader })?,
                "exp" => claims.exp = Some(map.next_value::<NumericDate>()?.0),
                "iat" => claims.iat = Some(map.next_value::<NumericDate>()?.0),
                "nbf" => claims.nbf = Some(map.next_value::<NumericDate>()?.0),
                "scope" => claims.scope = text(reader, map.next_value()?),
                "permissions" | "amr" => {
                    let texts: Option<Vec<Text<'de>>> = map.next_value()?;
                    let spans = texts.map(|texts| texts.into_iter().map(|Text(text)| reader.keep(text)).collect());
                    if name == "amr" {
                        claims.amr = spans;
                    } else {
                        claims.permissions = spans;
                    }
                }
                "azp" => claims.azp = text(reader, map.next_value()?),
                "client_id" => claims.client_id = text(reader, map.next_value()?),
                "jti" => claims.jti = text(reader, map.next_value()?),
                "acr" => claims.acr = text(reader, map.next_value()?),
                "auth_time" => claims.auth_time = Some(map.next_value::<NumericDate>()?.0),
                "org_id" => claims.org_id = text(reader, map.next_value()?),
                _ => claims.org_name = text(reader, map.next_value()?),
            }
        }
        Ok(claims)
    }
}

/// `aud`: a string, an array of strings, or `null`.
struct Audiences<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

impl<'de> DeserializeSeed<'de> for Audiences<'_, 'de> {
    type Value = Option<Box<[Span]>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Audiences<'_, 'de> {
    type Value = Option<Box<[Span]>>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string or an array of strings")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Box::new([self.reader.keep(Cow::Borrowed(text))])))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Box::new([self.reader.keep(Cow::Owned(text.to_owned()))])))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut spans = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(Text(text)) = seq.next_element::<Text<'de>>()? {
            spans.push(self.reader.keep(text));
        }
        Ok(Some(spans.into_boxed_slice()))
    }
}

/// `cnf` (RFC 7800): `null`, or an object; its `jkt` (RFC 9449 §6.1), when present, a string.
struct Confirmation<'r, 'de> {
    reader: &'r mut Reader<'de>,
    bound: &'r mut bool,
}

impl<'de> DeserializeSeed<'de> for Confirmation<'_, 'de> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Confirmation<'_, 'de> {
    type Value = Option<Span>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a confirmation object (RFC 7800)")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        *self.bound = true;
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut jkt = None;
        let mut others: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            if name == "jkt" {
                if jkt.is_some() {
                    return Err(duplicate(&name));
                }
                let Text(text) = map.next_value::<Text<'de>>()?;
                jkt = Some(self.reader.keep(text));
            } else if others.insert(name.clone()) {
                map.next_value::<IgnoredAny>()?;
            } else {
                return Err(duplicate(&name));
            }
        }
        Ok(jkt)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(json: &str) -> Result<Claims, ClaimsError> {
        Claims::from_payload(json.as_bytes().to_vec())
    }

    #[test]
    fn claims_parsed_from_a_payload_echo_it_verbatim() {
        let payload = r#"{"https://example.com/roles":["admin"],"sub":"auth0|1","exp":1800000000,"n":1.5e3}"#;
        let claims = parse(payload).unwrap();
        assert_eq!(claims.sub(), Some("auth0|1"));
        assert_eq!(claims.exp(), Some(1_800_000_000));
        assert_eq!(claims.as_json().get(), payload);
        assert_eq!(serde_json::to_string(&claims).unwrap(), payload);
        assert!(parse("[1, 2]").is_err());
        assert!(parse(r#"{"exp": "soon"}"#).is_err());
    }

    #[test]
    fn strings_point_into_the_payload_unless_they_had_escapes() {
        let claims =
            parse(r#"{"iss":"https://a/","sub":"caf\u00e9 \"q\"","aud":["x","\u0079"],"permissions":["p\/1","p2"]}"#)
                .unwrap();
        assert_eq!(claims.iss(), Some("https://a/"));
        assert_eq!(claims.sub(), Some("café \"q\""));
        assert_eq!(claims.audiences().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(claims.scopes().iter().collect::<Vec<_>>(), ["p/1", "p2"]);
        assert_eq!(&*claims.unescaped, "café \"q\"yp/1", "only the escaped strings are copied");
    }

    #[test]
    fn a_cached_token_costs_its_payload_and_a_few_bytes_per_list_entry() {
        let permissions: Vec<String> = (0..512).map(|n| format!("permission:{n:04}")).collect();
        let payload =
            json!({"sub": "s".repeat(250), "scope": permissions.join(" "), "permissions": permissions}).to_string();
        let claims = parse(&payload).unwrap();
        assert_eq!(claims.heap_bytes(), payload.len() + 512 * size_of::<Span>());
        assert!(claims.scopes().contains("permission:0511"));
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
            r#"{"cnf": {"jkt": "a"}, "cnf": null}"#,
            r#"{"cnf": {"jkt": "a", "jkt": "b"}}"#,
            r#"{"cnf": {"x5t#S256": "a", "x5t#S256": "b"}}"#,
        ] {
            let error = parse(refused).unwrap_err().to_string();
            assert!(
                error.contains("expected a JSON object") || error.contains("appears more than once"),
                "{refused}: {error}"
            );
        }
        assert!(parse(r#"{"nested": {"a": 1}, "sub": null}"#).unwrap().sub().is_none());
        assert!(parse(r#"{"sub": "a"} x"#).is_err(), "nothing may follow the object");
        assert!(parse(" {\"sub\": \"a\"}\n").is_ok());
    }

    #[test]
    fn times_are_whole_seconds_and_typed_claims_have_their_types() {
        assert_eq!(parse(r#"{"exp": 9223372036854775807, "iat": 0}"#).unwrap().exp(), Some(i64::MAX));
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
            r#"{"aud": 5}"#,
            r#"{"scope": ["read:messages"]}"#,
            r#"{"permissions": "read:messages"}"#,
            r#"{"jti": 5}"#,
            r#"{"amr": "mfa"}"#,
            r#"{"auth_time": "now"}"#,
            r#"{"org_id": 5}"#,
            r#"{"cnf": "key"}"#,
            r#"{"cnf": {"jkt": 5}}"#,
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_claims_of_organizations_and_authentication_are_read() {
        let claims = parse(
            r#"{"org_id": "org_1", "org_name": "acme", "acr": "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "amr": ["pwd", "mfa"], "auth_time": 1800000000}"#,
        )
        .unwrap();
        assert_eq!((claims.org_id(), claims.org_name()), (Some("org_1"), Some("acme")));
        assert_eq!(claims.acr(), Some("http://schemas.openid.net/pape/policies/2007/06/multi-factor"));
        assert_eq!(claims.amr().collect::<Vec<_>>(), ["pwd", "mfa"]);
        assert_eq!(claims.auth_time(), Some(1_800_000_000));
    }

    #[test]
    fn a_confirmation_binds_the_token() {
        let bound = parse(r#"{"cnf": {"jkt": "abc", "other": [1]}}"#).unwrap();
        assert!(bound.is_bound());
        assert_eq!(bound.confirmation_key(), Some("abc"));
        let certificate = parse(r#"{"cnf": {"x5t#S256": "abc"}}"#).unwrap();
        assert!(certificate.is_bound() && certificate.confirmation_key().is_none());
        let unbound = parse(r#"{"cnf": null}"#).unwrap();
        assert!(!unbound.is_bound() && unbound.confirmation_key().is_none());
    }

    #[test]
    fn scopes_come_from_scope_and_permissions() {
        let claims = parse(r#"{"scope": "openid  profile", "permissions": ["read:messages"]}"#).unwrap();
        let scopes = claims.scopes();
        assert!(scopes.contains("profile") && scopes.contains("read:messages"));
        assert!(!scopes.contains("read"));
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["openid", "profile", "read:messages"]);
        let audiences = parse(r#"{"aud": "one"}"#).unwrap();
        assert_eq!(audiences.audiences().collect::<Vec<_>>(), ["one"]);
        assert!(!parse("{}").unwrap().has_aud());
    }
}
