//! A JSON payload serialized straight from the value with serde.
//!
//! poem-openapi's `Json<T>` converts the value into a `serde_json::Value` tree first and then
//! serializes the tree; for the responses that carry a token's claims on every request, this one
//! writes the bytes directly. Same content type and schema, so the spec is unchanged.

use poem::{IntoResponse, Response};
use poem_openapi::{
    payload::{Json, Payload},
    registry::{MetaSchemaRef, Registry},
    types::Type,
};
use serde::Serialize;

/// A JSON response body, serialized with serde.
#[derive(Debug, Clone)]
pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Serialize> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        // Room for a typical body (a message and a token's claims) without growing.
        let mut body = Vec::with_capacity(512);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder().content_type(<Self as Payload>::CONTENT_TYPE).body(body),
            Err(error) => {
                tracing::error!(%error, "cannot serialize a response");
                Response::builder().status(poem::http::StatusCode::INTERNAL_SERVER_ERROR).finish()
            }
        }
    }
}
