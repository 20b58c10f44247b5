//! The verifier against a reference built only from jsonwebtoken's own `decode_header` and
//! `decode`, with the same keys, algorithms and validation, on generated tokens: valid ones,
//! mutations of them, and random strings. Both must accept and refuse the same tokens, with the
//! same claims; the verifier may refuse more only where one of [`PROJECT_RULES`] applies, each
//! checked on the input by code of this file.
//!
//! `cargo test` runs 20,000 cases; `DIFFERENTIAL_CASES=1000000 cargo test --release --test api
//! differential -- --nocapture` runs a million and prints what it found.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use jwt_resource_server::{AuthError, ResourceServer};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::helpers::{AUDIENCE, SigningKey, TestApp, TestIssuer, unix_now};

const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256];
const LEEWAY: i64 = 10;
const MAX_TOKEN_BYTES: usize = 16_384;
/// Stands for the signer's algorithm in a generated header.
const SIGNERS_ALG: &str = "(the signer's)";

/// Why the verifier may refuse a token the reference accepts: rules of this project, each
/// with the check of the input that shows it applies.
const PROJECT_RULES: [(&str, Applies); 8] = [
    ("a token over auth0.max_token_bytes is refused unparsed", |input, _| input.length > MAX_TOKEN_BYTES),
    ("a crit header is refused (RFC 7515 §4.1.11: no extension is understood)", |input, _| {
        input.header.as_ref().is_some_and(|header| header.get("crit").is_some_and(|crit| !crit.is_null()))
    }),
    ("without kid, a token is accepted only when exactly one key fits its algorithm", |input, fixture| {
        input.kid().is_none() && input.alg().is_some_and(|alg| fixture.keys_fitting(alg) > 1)
    }),
    ("a JWK that names its alg verifies only that alg (RFC 7517 §4.4)", |input, fixture| {
        let (Some(kid), Some(alg)) = (input.kid(), input.alg()) else { return false };
        fixture.keys.iter().any(|key| key.kid == kid && key.alg != alg && key.jwk().common.key_algorithm.is_some())
    }),
    ("member names are unique in the header and the claims (RFC 7515 §4, RFC 7519 §4)", |input, _| {
        input.duplicate_names
    }),
    ("alg is a string (RFC 7515 §4.1.1)", |input, _| {
        input.header.as_ref().is_some_and(|header| header.get("alg").is_some_and(|alg| !alg.is_string()))
    }),
    (
        "time claims are whole seconds from 0 to i64::MAX (never null), the registered claims read have their types (jti a string, cnf an object)",
        |input, _| input.claims.as_ref().is_some_and(mistyped_claims),
    ),
    ("exp is reached at exp + leeway (RFC 7519 §4.1.4), one second before jsonwebtoken's", |input, _| {
        input.claims.as_ref().and_then(|claims| claims.get("exp")?.as_i64()).is_some_and(|exp| {
            let now = unix_now();
            (now - 1..=now + 1).contains(&(exp + LEEWAY))
        })
    }),
];

/// Whether a rule applies to an input.
type Applies = fn(&Inspected, &Fixture) -> bool;

/// The keys and the verifier under test, with the test issuer and the service it belongs to.
struct Fixture {
    _issuer: TestIssuer,
    _app: TestApp,
    keys: Vec<SigningKey>,
    attacker: SigningKey,
    jwks: JwkSet,
    issuer: String,
    server: Arc<ResourceServer>,
}

impl Fixture {
    /// How many published keys could verify `alg`.
    fn keys_fitting(&self, alg: Algorithm) -> usize {
        self.keys
            .iter()
            .filter(|key| key.alg.family() == alg.family())
            .filter(|key| key.alg == alg || key.jwk().common.key_algorithm.is_none())
            .count()
    }
}

/// What the input says, read independently of both checkers.
struct Inspected {
    length: usize,
    header: Option<Map<String, Value>>,
    claims: Option<Map<String, Value>>,
    duplicate_names: bool,
}

impl Inspected {
    fn of(token: &str) -> Self {
        let parts: Vec<&str> = token.split('.').collect();
        let decoded = |index: usize| parts.get(index).and_then(|part| URL_SAFE_NO_PAD.decode(part).ok());
        let (header, payload) = (decoded(0), decoded(1));
        let object = |bytes: &Option<Vec<u8>>| bytes.as_deref().and_then(|json| serde_json::from_slice(json).ok());
        Inspected {
            length: token.len(),
            header: object(&header),
            claims: object(&payload),
            duplicate_names: [&header, &payload].into_iter().flatten().any(|json| has_duplicate_names(json)),
        }
    }

    fn kid(&self) -> Option<&str> {
        self.header.as_ref()?.get("kid")?.as_str()
    }

    fn alg(&self) -> Option<Algorithm> {
        self.header.as_ref()?.get("alg")?.as_str()?.parse().ok()
    }
}

/// Whether `json` is an object in which a member name appears twice.
fn has_duplicate_names(json: &[u8]) -> bool {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = bool;
        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut names = std::collections::HashSet::new();
            let mut duplicate = false;
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                duplicate |= !names.insert(name);
            }
            Ok(duplicate)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    de::Deserializer::deserialize_map(&mut deserializer, Names).unwrap_or(false)
}

fn mistyped_claims(claims: &Map<String, Value>) -> bool {
    let time = |value: &Value| value.as_u64().is_some_and(|seconds| i64::try_from(seconds).is_ok());
    let is_time = |name: &str| ["exp", "nbf", "iat"].contains(&name);
    let text = |value: &Value| value.is_string();
    let texts = |value: &Value| value.as_array().is_some_and(|items| items.iter().all(Value::is_string));
    let audience = |value: &Value| text(value) || texts(value);
    let confirmation = |value: &Value| value.as_object().is_some_and(|cnf| cnf.get("jkt").is_none_or(Value::is_string));
    type Fits<'a> = &'a dyn Fn(&Value) -> bool;
    let rules: [(&str, Fits); 12] = [
        ("exp", &time),
        ("nbf", &time),
        ("iat", &time),
        ("iss", &text),
        ("sub", &text),
        ("scope", &text),
        ("azp", &text),
        ("client_id", &text),
        ("aud", &audience),
        ("permissions", &texts),
        ("jti", &text),
        ("cnf", &confirmation),
    ];
    rules
        .iter()
        .any(|(name, fits)| claims.get(*name).is_some_and(|value| (is_time(name) || !value.is_null()) && !fits(value)))
}

/// The reference: jsonwebtoken's `decode_header`, the key its `kid` names in the same JWKS (or,
/// without `kid`, any key that verifies), and jsonwebtoken's `decode` into a JSON object with the
/// same issuer, audience, algorithms, leeway and required claims; plus this project's `iat` rule.
fn reference(token: &str, fixture: &Fixture) -> Result<Map<String, Value>, String> {
    let header = decode_header(token).map_err(|error| error.to_string())?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err("algorithm not accepted".into());
    }
    let candidates: Vec<_> = match &header.kid {
        Some(kid) => fixture.jwks.find(kid).into_iter().collect(),
        None => fixture.jwks.keys.iter().collect(),
    };
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY as u64;
    validation.validate_nbf = true;
    validation.set_issuer(&[&fixture.issuer]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let mut outcome = Err("no key with this kid".to_owned());
    for jwk in candidates {
        let key = DecodingKey::from_jwk(jwk).map_err(|error| error.to_string())?;
        outcome = decode::<Map<String, Value>>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| error.to_string());
        if outcome.is_ok() {
            break;
        }
    }
    let claims = outcome?;
    let now = jsonwebtoken::get_current_timestamp() as f64;
    if claims.get("iat").and_then(Value::as_f64).is_some_and(|iat| iat - LEEWAY as f64 > now) {
        return Err("issued in the future".into());
    }
    Ok(claims)
}

/// Tallies of one run, printed at the end.
#[derive(Default)]
struct Tally {
    cases: u64,
    both_accepted: u64,
    both_refused: u64,
    rules: BTreeMap<&'static str, u64>,
    refusals: BTreeMap<&'static str, u64>,
}

fn check(
    token: &str,
    fixture: &Fixture,
    runtime: &tokio::runtime::Runtime,
    tally: &Mutex<Tally>,
) -> Result<(), TestCaseError> {
    let service = runtime.block_on(fixture.server.verifier().verify::<()>(token));
    let reference = reference(token, fixture);
    let mut tally = tally.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    tally.cases += 1;
    if let Err(error) = &service {
        let AuthError::InvalidToken(rejection) = error else {
            return Err(TestCaseError::fail(format!("not a 401 invalid_token: {error:?} for {token:?}")));
        };
        let description = error.to_string();
        prop_assert!(token.len() < 16 || !description.contains(token), "echoes the token: {}", description);
        prop_assert!(!description.contains("Error") && !description.contains("Kind"), "library text: {}", description);
        *tally.refusals.entry(rejection.reason().as_str()).or_default() += 1;
    }
    match (service, reference) {
        (Ok(claims), Ok(expected)) => {
            let echoed: Value = serde_json::from_str(claims.claims().as_json().get()).unwrap();
            prop_assert_eq!(echoed, Value::Object(expected), "claims of {}", token);
            tally.both_accepted += 1;
        }
        (Err(_), Err(_)) => tally.both_refused += 1,
        (Ok(_), Err(why)) => {
            return Err(TestCaseError::fail(format!("accepted what the reference refuses ({why}): {token}")));
        }
        (Err(error), Ok(_)) => {
            let input = Inspected::of(token);
            let Some((rule, _)) = PROJECT_RULES.iter().find(|(_, applies)| applies(&input, fixture)) else {
                return Err(TestCaseError::fail(format!(
                    "refused ({error}) what the reference accepts, no rule applies: {token}"
                )));
            };
            *tally.rules.entry(rule).or_default() += 1;
        }
    }
    Ok(())
}

// ---- generators -------------------------------------------------------------------------

/// A JSON member: a name and its value, or nothing.
type Member = Option<(&'static str, Value)>;

fn header_members(fixture_kids: Vec<String>) -> impl Strategy<Value = Vec<Member>> {
    let alg = prop_oneof![
        8 => Just(Some(("alg", json!(SIGNERS_ALG)))),
        3 => prop::sample::select(vec!["RS256", "PS256", "ES256"]).prop_map(|alg| Some(("alg", json!(alg)))),
        1 => prop::sample::select(vec![json!("RS384"), json!("HS256"), json!("none"), json!("rs256"), json!(null), json!(5), json!({"RS256": null}), json!(["RS256"])])
            .prop_map(|alg| Some(("alg", alg))),
        1 => Just(None),
    ];
    let published: Vec<Value> = fixture_kids.into_iter().map(Value::from).collect();
    let kid = prop_oneof![
        10 => prop::sample::select(published).prop_map(|kid| Some(("kid", kid))),
        2 => prop::sample::select(vec![json!("unknown"), json!(""), json!(null), json!(7)]).prop_map(|kid| Some(("kid", kid))),
        3 => Just(None),
    ];
    let extra = prop::sample::select(vec![
        Some(("typ", json!("JWT"))),
        Some(("typ", json!("at+jwt"))),
        Some(("typ", json!(1))),
        Some(("crit", json!(["exp"]))),
        Some(("crit", json!(null))),
        Some(("jku", json!("http://127.0.0.1:9/jwks.json"))),
        Some((
            "jwk",
            json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
        )),
        Some(("jwk", json!("not a key"))),
        Some(("x5c", json!(["MIIB"]))),
        Some(("x5c", json!("MIIB"))),
        Some(("x5t#S256", json!(0))),
        Some(("cty", json!(null))),
        Some(("b64", json!(false))),
        Some(("custom", json!({"nested": [1, 2, {"a": null}]}))),
    ]);
    let extra = prop_oneof![6 => Just(None), 2 => Just(Some(("typ", json!("JWT")))), 2 => extra];
    (alg, kid, extra).prop_map(|(alg, kid, extra)| vec![alg, kid, extra])
}

/// A time claim: valid (`valid` seconds from now) most often, else another offset from now,
/// a fixed value, or absent.
fn time(name: &'static str, valid: i64, offsets: Vec<i64>) -> impl Strategy<Value = Member> {
    let fixed = vec![json!(1.8e9), json!(-5), json!("soon"), json!(u64::MAX), json!(i64::MAX), json!(0), json!(null)];
    prop_oneof![
        3 => Just(Some((name, json!(unix_now() + valid)))),
        2 => prop::sample::select(offsets).prop_map(move |offset| Some((name, json!(unix_now() + offset)))),
        1 => prop::sample::select(fixed).prop_map(move |value| Some((name, value))),
        4 => Just(None),
    ]
}

fn claim_members(issuer: String) -> impl Strategy<Value = Vec<Member>> {
    let iss = prop::sample::select(vec![
        Some(json!(issuer.clone())),
        Some(json!(issuer.trim_end_matches('/'))),
        Some(json!([issuer.clone()])),
        Some(json!(5)),
        Some(json!(null)),
        None,
    ])
    .prop_map(|value| value.map(|value| ("iss", value)));
    let iss = prop_oneof![8 => Just(Some(("iss", json!(issuer)))), 1 => iss];
    let aud = prop::sample::select(vec![
        Some(json!([AUDIENCE, "https://tenant.example/userinfo"])),
        Some(json!(["https://other.example"])),
        Some(json!([])),
        Some(json!([AUDIENCE, 5])),
        Some(json!(5)),
        None,
    ])
    .prop_map(|value| value.map(|value| ("aud", value)));
    let aud = prop_oneof![6 => Just(Some(("aud", json!(AUDIENCE)))), 1 => aud];
    let exp = prop_oneof![
        4 => Just(()).prop_map(|()| Some(("exp", json!(unix_now() + 3600)))),
        1 => time("exp", 60, vec![-86_400, -LEEWAY - 5, -LEEWAY + 5]),
    ];
    let nbf = time("nbf", -100, vec![LEEWAY - 5, LEEWAY + 5, 3600]);
    let iat = time("iat", 0, vec![-60, LEEWAY - 5, LEEWAY + 5, 600]);
    let extra = prop::sample::select(vec![
        Some(("sub", json!("auth0|user"))),
        Some(("sub", json!(5))),
        Some(("scope", json!("openid read:messages"))),
        Some(("scope", json!(["read:messages"]))),
        Some(("permissions", json!(["read:messages"]))),
        Some(("permissions", json!("read:messages"))),
        Some(("azp", json!({"id": 1}))),
        Some(("client_id", json!("client"))),
        Some(("https://example.com/roles", json!(["admin", {"nested": {"deep": [1.5e3, -0.0, 1e300]}}]))),
        Some(("n", json!(18_446_744_073_709_551_615_u64))),
        Some(("unicode", json!("é \u{1F600} \u{2028}"))),
    ]);
    let extra = prop_oneof![4 => Just(None), 2 => Just(Some(("sub", json!("auth0|user")))), 3 => extra];
    (iss, aud, exp, nbf, iat, extra, extra_again())
        .prop_map(|(iss, aud, exp, nbf, iat, extra, more)| vec![iss, aud, exp, nbf, iat, extra, more])
}

fn extra_again() -> impl Strategy<Value = Member> {
    prop::sample::select(vec![None, Some(("sub", json!("auth0|other"))), Some(("x", json!(1)))])
}

/// How a JSON object is written: as is, or made invalid or unusual in one way.
#[derive(Debug, Clone)]
enum Form {
    Object,
    Array,
    Text,
    Number,
    Null,
    Nested,
    /// The member at this index once more, with the same or another value.
    Duplicate(usize, bool),
    /// A name written with a JSON escape.
    EscapedName(usize),
    Bom,
    /// JSON whitespace (or, for odd seeds, Unicode spaces JSON does not allow) around the members.
    Whitespace(u8),
    TrailingGarbage,
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        40 => Just(Form::Object),
        1 => Just(Form::Array),
        1 => Just(Form::Text),
        1 => Just(Form::Number),
        1 => Just(Form::Null),
        1 => Just(Form::Nested),
        2 => (0..8_usize, any::<bool>()).prop_map(|(index, same)| Form::Duplicate(index, same)),
        1 => (0..8_usize).prop_map(Form::EscapedName),
        1 => Just(Form::Bom),
        1 => any::<u8>().prop_map(Form::Whitespace),
        1 => Just(Form::TrailingGarbage),
    ]
}

fn write(members: &[Member], form: &Form, pad: Option<usize>) -> Vec<u8> {
    let mut members: Vec<(String, Value)> =
        members.iter().flatten().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    if let Some(pad) = pad {
        members.push(("pad".into(), json!("p".repeat(pad))));
    }
    let object = |members: &[(String, Value)], separator: &str| {
        let inner: Vec<String> = members.iter().map(|(name, value)| format!("{}:{}", json!(name), value)).collect();
        format!("{{{separator}{}{separator}}}", inner.join(&format!(",{separator}")))
    };
    let text = match form {
        Form::Object => object(&members, ""),
        Form::Array => json!(members.iter().map(|(_, value)| value.clone()).collect::<Vec<_>>()).to_string(),
        Form::Text => json!(object(&members, "")).to_string(),
        Form::Number => "1800000000".into(),
        Form::Null => "null".into(),
        Form::Nested => format!("{{\"claims\":{}}}", object(&members, "")),
        Form::Duplicate(index, same) => {
            if let Some((name, value)) = members.get(index % members.len().max(1)).cloned() {
                members.push((name, if *same { value } else { json!("other") }));
            }
            object(&members, "")
        }
        Form::EscapedName(index) => {
            let plain = object(&members, "");
            match members.get(index % members.len().max(1)) {
                Some((name, _)) if !name.is_empty() => {
                    let first = name.chars().next().unwrap();
                    plain.replacen(
                        &format!("\"{name}\""),
                        &format!("\"\\u{:04x}{}\"", first as u32, &name[first.len_utf8()..]),
                        1,
                    )
                }
                _ => plain,
            }
        }
        Form::Bom => format!("\u{feff}{}", object(&members, "")),
        Form::Whitespace(seed) => {
            let spaces = [" ", "\t", "\n", "\r\n", " \t\n ", "\u{a0}", "\u{2003}", "\u{3000}"];
            object(&members, spaces[usize::from(*seed) % spaces.len()])
        }
        Form::TrailingGarbage => format!("{} x", object(&members, "")),
    };
    text.into_bytes()
}

/// Who signs, with which algorithm.
#[derive(Debug, Clone)]
enum Signer {
    /// The key the header names (or the first key fitting the header's algorithm).
    Named,
    /// A published key, chosen by index, with its own algorithm.
    Key(usize),
    Attacker,
    Unsigned,
}

fn signer() -> impl Strategy<Value = Signer> {
    prop_oneof![
        12 => Just(Signer::Named),
        2 => (0..3_usize).prop_map(Signer::Key),
        1 => Just(Signer::Attacker),
        1 => Just(Signer::Unsigned),
    ]
}

/// A change to the finished token's text.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    FlipBit { segment: usize, index: usize, bit: u8 },
    Swap(usize, usize),
    Drop(usize),
    Double(usize),
    Padding(usize),
    PlusAndSlash(usize),
    TrailingBits(usize),
    Insert { segment: usize, index: usize, character: char },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let segment = 0..3_usize;
    prop_oneof![
        30 => Just(Mutation::None),
        3 => (segment.clone(), any::<usize>(), 0..8_u8).prop_map(|(segment, index, bit)| Mutation::FlipBit { segment, index, bit }),
        1 => (segment.clone(), segment.clone()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => segment.clone().prop_map(Mutation::Drop),
        1 => segment.clone().prop_map(Mutation::Double),
        1 => segment.clone().prop_map(Mutation::Padding),
        1 => segment.clone().prop_map(Mutation::PlusAndSlash),
        1 => segment.clone().prop_map(Mutation::TrailingBits),
        1 => (segment, any::<usize>(), prop::sample::select(vec!['!', ' ', '=', '.', 'é', '\u{1F600}', '\0', '+']))
            .prop_map(|(segment, index, character)| Mutation::Insert { segment, index, character }),
    ]
}

fn mutate(token: String, mutation: &Mutation) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let count = parts.len();
    let at = |segment: usize| segment % count;
    match mutation {
        Mutation::None => return token,
        Mutation::FlipBit { segment, index, bit } => {
            let part = at(*segment);
            let mut bytes = parts[part].clone().into_bytes();
            if !bytes.is_empty() {
                let index = index % bytes.len();
                bytes[index] ^= 1 << bit;
            }
            parts[part] = String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::Swap(a, b) => {
            let (a, b) = (at(*a), at(*b));
            parts.swap(a, b);
        }
        Mutation::Drop(segment) => {
            parts.remove(at(*segment));
        }
        Mutation::Double(segment) => {
            let part = at(*segment);
            parts.insert(part, parts[part].clone());
        }
        Mutation::Padding(segment) => {
            let part = at(*segment);
            let missing = (4 - parts[part].len() % 4) % 4;
            parts[part].push_str(&"=".repeat(missing.max(1)));
        }
        Mutation::PlusAndSlash(segment) => {
            let part = at(*segment);
            parts[part] = parts[part].replace('-', "+").replace('_', "/");
            if !parts[part].contains(['+', '/']) {
                parts[part].insert(0, '+');
            }
        }
        Mutation::TrailingBits(segment) => {
            // A last character whose unused low bits are set: still in the alphabet, not canonical.
            let part = at(*segment);
            if let Some(last) = parts[part].pop() {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let value = alphabet.iter().position(|c| char::from(*c) == last).unwrap_or(0);
                parts[part].push(char::from(alphabet[(value | 1) % 64]));
            }
        }
        Mutation::Insert { segment, index, character } => {
            let part = at(*segment);
            let chars: Vec<char> = parts[part].chars().collect();
            let index = index % (chars.len() + 1);
            let mut text: String = chars[..index].iter().collect();
            text.push(*character);
            text.extend(&chars[index..]);
            parts[part] = text;
        }
    }
    parts.join(".")
}

/// Everything one generated case is made of.
#[derive(Debug, Clone)]
enum Case {
    Built {
        header: Vec<Member>,
        header_form: Form,
        claims: Vec<Member>,
        claims_form: Form,
        signer: Signer,
        near_cap: Option<i8>,
        mutation: Mutation,
    },
    Random(String),
}

fn case(fixture: &Fixture) -> impl Strategy<Value = Case> {
    let kids = fixture.keys.iter().map(|key| key.kid.clone()).collect();
    let built = (
        header_members(kids),
        form(),
        claim_members(fixture.issuer.clone()),
        form(),
        signer(),
        prop_oneof![20 => Just(None), 1 => (-3..=3_i8).prop_map(Some)],
        mutation(),
    )
        .prop_map(|(header, header_form, claims, claims_form, signer, near_cap, mutation)| Case::Built {
            header,
            header_form,
            claims,
            claims_form,
            signer,
            near_cap,
            mutation,
        });
    prop_oneof![
        20 => built,
        1 => any::<String>().prop_map(Case::Random),
        1 => "[A-Za-z0-9_=+/.-]{0,400}".prop_map(Case::Random),
    ]
}

fn token(case: &Case, fixture: &Fixture) -> String {
    let (header, header_form, claims, claims_form, signer, near_cap, mutation) = match case {
        Case::Built { header, header_form, claims, claims_form, signer, near_cap, mutation } => {
            (header, header_form, claims, claims_form, signer, near_cap, mutation)
        }
        Case::Random(text) => return text.clone(),
    };
    let named_alg =
        header.iter().flatten().find(|(name, _)| *name == "alg").and_then(|(_, alg)| alg.as_str()?.parse().ok());
    let named_kid = header.iter().flatten().find(|(name, _)| *name == "kid").and_then(|(_, kid)| kid.as_str());
    let fitting = |key: &SigningKey| {
        named_alg
            .filter(|alg: &Algorithm| alg.family() == key.alg.family() && *alg != Algorithm::RS384)
            .unwrap_or(key.alg)
    };
    let (key, alg) = match signer {
        Signer::Named => {
            let key = fixture
                .keys
                .iter()
                .find(|key| Some(key.kid.as_str()) == named_kid)
                .or_else(|| {
                    fixture
                        .keys
                        .iter()
                        .find(|key| named_alg.is_some_and(|alg: Algorithm| alg.family() == key.alg.family()))
                })
                .unwrap_or(&fixture.keys[0]);
            (Some(key), fitting(key))
        }
        Signer::Key(index) => (Some(&fixture.keys[*index]), fixture.keys[*index].alg),
        Signer::Attacker => (Some(&fixture.attacker), fitting(&fixture.attacker)),
        Signer::Unsigned => (None, Algorithm::RS256),
    };
    let header: Vec<Member> = header
        .iter()
        .map(|member| match member {
            Some(("alg", value)) if value == SIGNERS_ALG => Some(("alg", json!(format!("{alg:?}")))),
            other => other.clone(),
        })
        .collect();
    let header_json = write(&header, header_form, None);
    let sign = |claims_json: &[u8]| match key {
        Some(key) => key.sign_raw_with(alg, &header_json, claims_json),
        None => format!("{}.{}.", URL_SAFE_NO_PAD.encode(&header_json), URL_SAFE_NO_PAD.encode(claims_json)),
    };
    let mut text = sign(&write(claims, claims_form, None));
    if let Some(offset) = near_cap {
        // Pad the claims until the token is within a few bytes of the size cap.
        let target = (MAX_TOKEN_BYTES as i64 + i64::from(*offset)) as usize;
        let mut pad = (target.saturating_sub(text.len())) * 3 / 4;
        for _ in 0..8 {
            text = sign(&write(claims, claims_form, Some(pad)));
            if text.len() >= target {
                break;
            }
            pad += (target - text.len()).div_ceil(4).max(1) * 3 / 4 + 1;
        }
    }
    mutate(text, mutation)
}

fn run(cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fixture = runtime.block_on(async {
        let issuer = TestIssuer::start().await;
        let keys = vec![
            SigningKey::fixture("primary").with_kid("rsa-a").unpinned(),
            SigningKey::fixture("rotated").with_kid("rsa-b"),
            SigningKey::generated_ec("ec-a").unpinned(),
        ];
        issuer.publish(&keys);
        let algorithms = ["RS256", "PS256", "ES256"];
        let app = TestApp::spawn_with(&issuer, |f| f.merge(("auth0.algorithms", algorithms))).await;
        app.wait_until_ready().await;
        let jwks = JwkSet { keys: keys.iter().map(SigningKey::jwk).collect() };
        Fixture {
            issuer: issuer.url.clone(),
            server: Arc::clone(&app.server),
            _issuer: issuer,
            _app: app,
            keys,
            attacker: SigningKey::fixture("attacker").with_kid("rsa-a"),
            jwks,
        }
    });
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&case(&fixture), |case| check(&token(&case, &fixture), &fixture, &runtime, &tally));
    let tally = tally.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    println!(
        "differential: {} cases in {:.1} s: {} accepted by both, {} refused by both, {} refused by the verifier alone under a project rule",
        tally.cases,
        started.elapsed().as_secs_f64(),
        tally.both_accepted,
        tally.both_refused,
        tally.rules.values().sum::<u64>()
    );
    for (rule, count) in &tally.rules {
        println!("  {count:>8}  {rule}");
    }
    println!("refusals by reason: {:?}", tally.refusals);
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert!(tally.both_accepted > u64::from(cases) / 20, "too few valid tokens were generated");
    assert!(tally.rules.len() >= 6, "some project rules were never exercised: {:?}", tally.rules.keys());
}

#[test]
fn the_verifier_agrees_with_jsonwebtoken_on_generated_tokens() {
    let cases = std::env::var("DIFFERENTIAL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    run(cases);
}
