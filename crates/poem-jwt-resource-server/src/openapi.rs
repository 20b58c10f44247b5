//! How refusals appear in the spec, so generated clients get typed errors: the answers an
//! operation that takes an access token may give besides its own — 400, 401, its requirement's
//! (403 for a scope), 503 — each with the JSON [`ErrorBody`] and the headers it carries.

use std::sync::Mutex;

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
    let mut unauthorized = UNAUTHORIZED.to_owned();
    for (_, description) in requirement.refusals.iter().filter(|(status, _)| *status == 401) {
        unauthorized.push_str(". ");
        unauthorized.push_str(description);
    }
    let mut responses = vec![
        failure(400, BAD_REQUEST, vec![challenge()]),
        failure(401, interned(unauthorized), vec![challenge(), nonce]),
    ];
    let mut others: Vec<(u16, String)> = Vec::new();
    for (status, description) in requirement.refusals.iter().filter(|(status, _)| *status != 401) {
        match others.iter_mut().find(|(known, _)| known == status) {
            Some((_, text)) => {
                text.push_str(". ");
                text.push_str(description);
            }
            None => others.push((*status, (*description).to_owned())),
        }
    }
    for (status, description) in others {
        responses.push(failure(status, interned(description), vec![challenge()]));
    }
    let retry_after = MetaHeader {
        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("integer", "int32"))),
        ..header("Retry-After", "Seconds to wait before retrying", "integer")
    };
    responses.push(failure(503, UNAVAILABLE, vec![retry_after]));
    responses.sort_by_key(|response| response.status);
    responses
}

/// `text` as the `'static` description poem-openapi's registry takes: each distinct text is
/// kept once per process, however many specs are made.
fn interned(text: String) -> &'static str {
    static TEXTS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut texts = TEXTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = texts.iter().find(|known| **known == text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    texts.push(leaked);
    leaked
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
