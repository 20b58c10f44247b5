//! How refusals appear in the spec, so generated clients get typed errors: the answers an
//! operation that takes an access token may give besides its own — 400, 401, its requirement's
//! (403 for a scope), 503 — each with the JSON [`ErrorBody`] and the headers it carries.

use jwt_resource_server::RequirementDoc;
use poem_openapi::{
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaSchema, MetaSchemaRef},
    types::Type,
};

use crate::body::ErrorBody;

const BAD_REQUEST: &str = "Malformed credentials (`invalid_request`): `Bearer` or `DPoP` without a token, several Authorization headers, or a `Bearer` token sent with a `DPoP` proof";

const UNAUTHORIZED: &str = "No access token (the challenges name the realm and no error), a token that is not acceptable (`invalid_token`, with the reason in `error_description`), a DPoP proof that is not (`invalid_dpop_proof`), or, when the service requires DPoP nonces, a proof without the current one (`use_dpop_nonce`, with the nonce in `DPoP-Nonce`)";

const UNAVAILABLE: &str = "The identity provider's signing keys cannot be obtained and none usable are cached, or a DPoP proof cannot be checked for replay (`temporarily_unavailable`)";

/// The answers of a refusal of an operation requiring `requirement`, by status.
pub(crate) fn refusal_responses(requirement: &RequirementDoc) -> Vec<MetaResponse> {
    let nonce = MetaHeader {
        required: false,
        ..header("DPoP-Nonce", "The nonce the next DPoP proof must carry, when the service requires nonces", "string")
    };
    let mut responses =
        vec![failure(400, BAD_REQUEST, vec![challenge()]), failure(401, UNAUTHORIZED, vec![challenge(), nonce])];
    for (status, description) in &requirement.refusals {
        if *status != 401 {
            responses.push(failure(*status, description, vec![challenge()]));
        }
    }
    let retry_after = MetaHeader {
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("integer", "int32"))),
        ..header("Retry-After", "Seconds to wait before retrying", "integer")
    };
    responses.push(failure(503, UNAVAILABLE, vec![retry_after]));
    responses.sort_by_key(|response| response.status);
    responses
}

fn challenge() -> MetaHeader {
    header("WWW-Authenticate", "RFC 6750 Bearer and RFC 9449 DPoP challenges, one per accepted scheme", "string")
}

fn failure(status: u16, description: &'static str, headers: Vec<MetaHeader>) -> MetaResponse {
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

fn header(name: &str, description: &str, ty: &'static str) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new(ty))),
    }
}
