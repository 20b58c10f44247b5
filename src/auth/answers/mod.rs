//! How the token path answers on the wire:
//!
//! - [`AuthError`] — every refusal, rendered as an RFC 6750 response: status, `WWW-Authenticate`
//!   challenge and an [`ErrorBody`] (`body.rs`, with the closed set of [`ErrorCode`]s);
//!   [`TokenRejection`] says why a token was refused, [`ProofRejection`] why a DPoP proof was;
//! - [`AuthChallenge`] — middleware that answers every [`AuthError`] with a challenge for each
//!   scheme offered (Bearer, DPoP), linked to the resource metadata;
//! - `openapi` — the same failures as typed responses in the spec;
//! - [`ResourceMetadata`] — the RFC 9728 document those challenges link to.

mod body;
mod challenge;
mod error;
mod openapi;
mod proof_rejection;
mod resource_metadata;

pub use body::{ErrorBody, ErrorCode};
pub(crate) use challenge::SentAsHead;
pub use challenge::{AuthChallenge, OfferedSchemes};
pub use error::{
    AuthError, InvalidRequest, JsonProblem, Malformed, Refusal, RejectionReason, TokenPart, TokenRejection, echoed,
};
pub use proof_rejection::ProofRejection;
pub use resource_metadata::{
    RESOURCE_METADATA_PATH, ResourceMetadata, resource_metadata_path, serve_resource_metadata,
};
