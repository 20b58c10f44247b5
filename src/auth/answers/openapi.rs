//! How authentication failures appear in the OpenAPI spec, so generated clients get typed errors.
//!
//! Operations return `Result<T, AuthError>` (bearer scheme failures) or
//! `Result<T, ScopeDenied<S>>` (also 403); the bodies and headers are those [`AuthError`] sends.

use poem_openapi::{
    ApiResponse,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};

use super::{body::ErrorBody, error::AuthError};
use crate::auth::scope::{RequiredScope, ScopeDenied};

impl ApiResponse for AuthError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![
                failure(
                    400,
                    "Malformed credentials (`invalid_request`): `Bearer` or `DPoP` without a token, several Authorization headers, or a `Bearer` token sent with a `DPoP` proof",
                    true,
                ),
                MetaResponse {
                    headers: vec![
                        challenge_header(),
                        MetaHeader {
                            required: false,
                            ..header(
                                "DPoP-Nonce",
                                "The nonce the next DPoP proof must carry, when the service requires nonces",
                                MetaSchema::new("string"),
                            )
                        },
                    ],
                    ..failure(
                        401,
                        "No access token (the challenges name the realm and no error), a token that is not acceptable (`invalid_token`, with the reason in `error_description`), a DPoP proof that is not (`invalid_dpop_proof`), or, when the service requires DPoP nonces, a proof without the current one (`use_dpop_nonce`, with the nonce in `DPoP-Nonce`)",
                        true,
                    )
                },
                MetaResponse {
                    headers: vec![header(
                        "Retry-After",
                        "Seconds to wait before retrying",
                        MetaSchema::new_with_format("integer", "int32"),
                    )],
                    ..failure(
                        503,
                        "The identity provider's signing keys cannot be obtained and none usable are cached, or a DPoP proof cannot be checked for replay (`temporarily_unavailable`)",
                        false,
                    )
                },
            ],
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

impl<S: RequiredScope> ApiResponse for ScopeDenied<S> {
    fn meta() -> MetaResponses {
        let mut meta = AuthError::meta();
        let at = meta.responses.iter().position(|r| r.status > Some(403)).unwrap_or(meta.responses.len());
        meta.responses.insert(at, failure(403, S::DENIED, true));
        meta
    }

    fn register(registry: &mut Registry) {
        AuthError::register(registry);
    }
}

fn challenge_header() -> MetaHeader {
    header(
        "WWW-Authenticate",
        "RFC 6750 Bearer and RFC 9449 DPoP challenges, one per accepted scheme",
        MetaSchema::new("string"),
    )
}

fn failure(status: u16, description: &'static str, challenge: bool) -> MetaResponse {
    let headers = if challenge { vec![challenge_header()] } else { Vec::new() };
    MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json; charset=utf-8",
            schema: ErrorBody::schema_ref(),
        }],
        headers,
    }
}

fn header(name: &str, description: &str, schema: MetaSchema) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(schema)),
    }
}
