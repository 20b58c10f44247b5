//! The verified token's claims as a response field: [`TokenClaims`] serializes them as the token
//! carried them (no copy, no re-serialization), and documents them as the `Claims` schema.

use std::{borrow::Cow, sync::Arc};

use jwt_resource_server::Claims;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::Serialize;

use crate::spec_text::SpecText;

/// A token's claims in a response, written as the token carried them.
///
/// ```
/// use poem_jwt_resource_server::{AccessToken, TokenClaims};
/// use poem_openapi::{Object, OpenApi, payload::Json};
///
/// #[derive(Object)]
/// struct Granted {
///     message: String,
///     data: TokenClaims,
/// }
///
/// struct Api;
///
/// #[OpenApi]
/// impl Api {
///     #[oai(path = "/private", method = "get")]
///     async fn private(&self, token: AccessToken) -> Json<Granted> {
///         Json(Granted { message: "Access granted".into(), data: token.claims().clone().into() })
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct TokenClaims(pub Arc<Claims>);

impl From<Arc<Claims>> for TokenClaims {
    fn from(claims: Arc<Claims>) -> Self {
        TokenClaims(claims)
    }
}

impl Serialize for TokenClaims {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.as_json().serialize(serializer)
    }
}

impl Type for TokenClaims {
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
            let words = SpecText::current();
            let text = |description| described(MetaSchema::new("string"), description);
            let time = |description| described(MetaSchema::new_with_format("integer", "int64"), description);
            let texts = |description| {
                let items = MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")));
                described(MetaSchema { items: Some(Box::new(items)), ..MetaSchema::new("array") }, description)
            };
            let audience = MetaSchema {
                one_of: vec![MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))), texts("several audiences")],
                ..MetaSchema::ANY
            };
            MetaSchema {
                description: Some(
                    "The claims of the verified access token; claims not listed here are included as the token carried them.",
                ),
                properties: vec![
                    ("iss", text("Issuer")),
                    ("sub", text(words.sub_description)),
                    ("aud", described(audience, "Audience: one identifier or several")),
                    ("exp", time("Expiry, seconds since the Unix epoch")),
                    ("iat", time("Issue time, seconds since the Unix epoch")),
                    ("nbf", time("Not-before time, seconds since the Unix epoch")),
                    ("scope", text("Space-separated OAuth 2.0 scopes")),
                    ("permissions", texts(words.permissions_description)),
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

impl ToJSON for TokenClaims {
    fn to_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.0.as_json().get()).ok()
    }
}

impl ParseFromJSON for TokenClaims {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let text = value.unwrap_or_default().to_string();
        Claims::from_json(text)
            .map(|claims| TokenClaims(Arc::new(claims)))
            .map_err(|error| ParseError::custom(error.to_string()))
    }
}
