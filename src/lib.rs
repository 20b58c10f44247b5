//! A poem-openapi service whose routes are protected by OAuth 2.0 bearer access tokens issued
//! by Auth0 or any OpenID Connect provider.
//!
//! - [`settings`] reads `settings/` and the environment into typed, validated settings;
//! - [`startup`] builds the routes and runs the server;
//! - [`http`] is the server: connections, their limits and timeouts, and the framework's errors;
//! - [`api`] holds the typed operations, guarded by `poem-jwt-resource-server` (the token
//!   checks themselves are `jwt-resource-server`'s, in `crates/`);
//! - [`metrics`] counts requests and the token path's events;
//! - [`telemetry`] sets up logging and the per-request span;
//! - [`dev_issuer`] lets `cargo run` work without an Auth0 tenant.

pub mod api;
pub mod dev_issuer;
pub mod http;
pub mod metrics;
pub mod settings;
pub mod startup;
pub mod telemetry;
