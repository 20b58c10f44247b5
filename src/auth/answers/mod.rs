//! How the token path answers on the wire:
//!
//! - [`AuthError`] — every refusal, rendered as an RFC 6750 response: status, `WWW-Authenticate`
//!   challenge and an [`ErrorBody`] (`body.rs`, with the closed set of [`ErrorCode`]s);
//!   [`TokenRejection`] says why a token was refused;
//! - [`BearerChallenge`] — middleware that turns poem-openapi's bare "no credentials" error into
//!   an [`AuthError`] and links every 401 challenge to the resource metadata;
//! - `openapi` — the same failures as typed responses in the spec;
//! - [`ResourceMetadata`] — the RFC 9728 document those challenges link to.

mod body;
mod challenge;
mod error;
mod openapi;
mod resource_metadata;

pub use body::{ErrorBody, ErrorCode};
pub use challenge::BearerChallenge;
pub use error::{
    AuthError, InvalidRequest, JsonProblem, Malformed, Refusal, RejectionReason, TokenPart, TokenRejection,
};
pub use resource_metadata::{
    RESOURCE_METADATA_PATH, ResourceMetadata, resource_metadata_path, serve_resource_metadata,
};
