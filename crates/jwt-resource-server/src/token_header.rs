//! The JOSE header of a compact JWS, read strictly (RFC 7515 §4) without trusting anything in it.
//!
//! The header must be a JSON object with unique member names. Of its members this service uses
//! `alg`, `kid` and `typ` (borrowed from the decoded bytes) and refuses `crit`; every other registered
//! member must still have its RFC 7515 type (a string, `x5c` an array of strings, `jwk` a JSON
//! Web Key), as jsonwebtoken's own header requires. A typical header is decoded on the stack.

use std::{borrow::Cow, fmt};

use base64::{DecodeSliceError, Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::{
    json_object::{AnyString, Text, duplicate},
    rejection::{Malformed, TokenPart, TokenRejection},
};

/// Room for the decoded JOSE header of a typical token (`alg`, `typ`, `kid`) on the stack;
/// longer headers (an `x5c` chain, say) are decoded on the heap.
pub(crate) const HEADER_ON_STACK: usize = 256;

/// The registered header members (RFC 7515 §4.1, RFC 7516 §4.1, RFC 8555 §6.4) and the
/// extensions jsonwebtoken types: each may appear once, with its type.
const REGISTERED: [&str; 15] =
    ["alg", "kid", "crit", "typ", "cty", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "enc", "zip", "url", "nonce"];

/// The part of the JOSE header this service reads.
#[derive(Debug)]
pub(crate) struct TokenHeader<'a> {
    /// The signature algorithm, as written.
    pub alg: Cow<'a, str>,
    /// The key id, if any.
    pub kid: Option<Cow<'a, str>>,
    /// The media type of the whole token (`JWT`, `at+jwt`), if any.
    pub typ: Option<Cow<'a, str>>,
    /// Whether a `crit` member names extensions that must be understood.
    pub crit: bool,
}

impl<'de> Deserialize<'de> for TokenHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = TokenHeader<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut alg, mut kid, mut typ, mut crit) = (None, None, None, false);
        let mut seen = [false; REGISTERED.len()];
        let mut others: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            let Some(index) = REGISTERED.iter().position(|registered| *registered == name) else {
                if others.contains(&name) {
                    return Err(duplicate(&name));
                }
                map.next_value::<IgnoredAny>()?;
                others.push(name);
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(duplicate(&name));
            }
            match REGISTERED[index] {
                "alg" => alg = Some(map.next_value::<Text<'de>>()?.0),
                "kid" => kid = map.next_value::<Option<Text<'de>>>()?.map(|Text(kid)| kid),
                "typ" => typ = map.next_value::<Option<Text<'de>>>()?.map(|Text(typ)| typ),
                "crit" => crit = map.next_value::<Option<IgnoredAny>>()?.is_some(),
                "jwk" => {
                    let _: Option<Jwk> = map.next_value()?;
                }
                "x5c" => {
                    let _: Option<Vec<AnyString>> = map.next_value()?;
                }
                _ => {
                    let _: Option<AnyString> = map.next_value()?;
                }
            }
        }
        let alg = alg.ok_or_else(|| de::Error::custom("it has no alg"))?;
        Ok(TokenHeader { alg, kid, typ, crit })
    }
}

/// Splits a compact JWS and reads its header; the header is decoded into `on_stack` when it
/// fits, into `on_heap` otherwise.
pub(crate) fn parse_header<'a>(
    token: &str,
    on_stack: &'a mut [u8; HEADER_ON_STACK],
    on_heap: &'a mut Vec<u8>,
) -> Result<TokenHeader<'a>, TokenRejection> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::NotAJwt);
    };
    let not_base64 = |_| TokenRejection::Malformed(Malformed::NotBase64(TokenPart::Header));
    let json: &[u8] = match URL_SAFE_NO_PAD.decode_slice(header, on_stack) {
        Ok(length) => &on_stack[..length],
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            URL_SAFE_NO_PAD.decode_vec(header, on_heap).map_err(not_base64)?;
            on_heap
        }
        Err(DecodeSliceError::DecodeError(error)) => return Err(not_base64(error)),
    };
    serde_json::from_slice(json).map_err(|error| TokenRejection::Malformed(Malformed::Header((&error).into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<(String, Option<String>, bool), String> {
        let token = format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(json));
        let (mut on_stack, mut on_heap) = ([0; HEADER_ON_STACK], Vec::new());
        parse_header(&token, &mut on_stack, &mut on_heap)
            .map(|header| (header.alg.into_owned(), header.kid.map(Cow::into_owned), header.crit))
            .map_err(|rejection| rejection.to_string())
    }

    #[test]
    fn a_header_is_an_object_with_an_alg() {
        assert_eq!(read(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#), Ok(("RS256".into(), Some("k1".into()), false)));
        assert_eq!(read(r#" {"kid":null,"alg":"ES256"} "#), Ok(("ES256".into(), None, false)));
        for refused in [r#"["RS256","k1"]"#, r#""RS256""#, "5", "null", r#"{"kid":"k1"}"#, r#"{"alg":{"RS256":null}}"#]
        {
            let error = read(refused).unwrap_err();
            assert!(error.starts_with("the token is malformed: the header is not valid"), "{refused}: {error}");
        }
    }

    #[test]
    fn every_member_name_appears_once() {
        for refused in [
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
            r#"{"alg":"RS256","\u006bid":"a","kid":"b"}"#,
            r#"{"alg":"RS256","x":1,"x":1}"#,
        ] {
            assert!(read(refused).unwrap_err().contains("appears more than once"), "{refused}");
        }
    }

    #[test]
    fn registered_members_have_their_types() {
        for refused in [
            r#"{"alg":"RS256","kid":5}"#,
            r#"{"alg":"RS256","typ":["JWT"]}"#,
            r#"{"alg":"RS256","x5c":"MIIB"}"#,
            r#"{"alg":"RS256","x5c":[1]}"#,
            r#"{"alg":"RS256","jwk":"key"}"#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
        assert!(read(r#"{"alg":"RS256","x5c":["MIIB"],"typ":null,"ext":{"any":[1]}}"#).is_ok());
        assert!(read(r#"{"alg":"RS256","crit":["exp"]}"#).unwrap().2, "crit is reported");
    }

    #[test]
    fn long_headers_are_read_from_the_heap() {
        let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(400));
        assert_eq!(read(&header).unwrap().1.unwrap().len(), 400);
    }
}
