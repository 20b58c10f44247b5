//! JSON payloads through serde, with the content type and schema of poem-openapi's `Json<T>`,
//! so the spec is unchanged:
//!
//! - [`SerdeJson`], a response body written straight from the value (`Json<T>` builds a
//!   `serde_json::Value` tree first), for every answer of the message routes;
//! - [`JsonObject`], a request body that must be the object its schema describes, where `Json<T>`
//!   is lenient: it takes `null` for a member with a default as the default.

use poem::{
    FromRequest, IntoResponse, Request, RequestBody, Response, Result,
    http::{HeaderValue, header::CONTENT_TYPE},
};
use poem_openapi::{
    error::ParseRequestPayloadError,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::Type,
};
use serde::{Serialize, de::DeserializeOwned};

/// The content type and schema of `Json<T>`, for a payload wrapping a `T`.
macro_rules! json_payload {
    ($payload:ident) => {
        impl<T: Type> Payload for $payload<T> {
            const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

            fn check_content_type(content_type: &str) -> bool {
                <Json<T> as Payload>::check_content_type(content_type)
            }

            fn schema_ref() -> MetaSchemaRef {
                T::schema_ref()
            }

            fn register(registry: &mut Registry) {
                T::register(registry);
            }
        }
    };
}

json_payload!(SerdeJson);
json_payload!(JsonObject);

/// A JSON response body, serialized with serde.
#[derive(Debug, Clone)]
pub struct SerdeJson<T>(pub T);

impl<T: Type + Serialize> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        // Room for a typical body (a message and a token's claims) without growing.
        let mut body = Vec::with_capacity(512);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder()
                .header(CONTENT_TYPE, HeaderValue::from_static(<Self as Payload>::CONTENT_TYPE))
                .body(body),
            Err(error) => {
                tracing::error!(%error, "cannot serialize a response");
                Response::builder().status(poem::http::StatusCode::INTERNAL_SERVER_ERROR).finish()
            }
        }
    }
}

/// A JSON request body holding one object, read with serde: anything else (an array, which
/// serde's derive would read as the fields in order, a `null` member) is refused with 400.
#[derive(Debug, Clone)]
pub struct JsonObject<T>(pub T);

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonObject<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let refuse = |reason: String| ParseRequestPayloadError { reason };
        let data = Vec::<u8>::from_request(request, body).await?;
        let value: serde_json::Value = serde_json::from_slice(&data).map_err(|error| refuse(error.to_string()))?;
        if !value.is_object() {
            return Err(refuse("the body must be a JSON object".to_owned()).into());
        }
        let object = T::deserialize(value).map_err(|error| refuse(error.to_string()))?;
        Ok(JsonObject(object))
    }
}
