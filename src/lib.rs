//! A poem-openapi service whose routes are protected by OAuth 2.0 bearer access tokens issued
//! by Auth0 or any OpenID Connect provider.
//!
//! - [`settings`] reads `settings/` and the environment into typed, validated settings;
//! - [`startup`] builds the routes and runs the server;
//! - [`http`] is the server: connections, their limits and timeouts, and the framework's errors;
//! - [`api`] holds the typed operations, [`auth`] everything token-related;
//! - [`telemetry`] sets up logging and the per-request span;
//! - [`dev_issuer`] lets `cargo run` work without an Auth0 tenant;
//! - [`dpop_key`] signs DPoP proofs for the `dpop-proof` subcommand (the client's side).

pub mod api;
pub mod auth;
pub mod dev_issuer;
pub mod dpop_key;
pub mod http;
pub mod metrics;
pub mod settings;
pub mod startup;
pub mod telemetry;
