//! End-to-end tests: the real service on an ephemeral port, a test identity provider on
//! 127.0.0.1, real HTTP between them.

mod answers;
mod architecture;
mod binary;
mod browser;
mod client;
mod connections;
mod differential;
mod docs;
mod dpop;
mod dpop_redis;
mod drain;
mod encrypted;
mod examples;
mod helpers;
mod interop;
mod key_store;
mod login;
mod logs;
mod operators;
mod organizations;
mod readme;
mod rolling;
mod routes;
mod settings;
mod spec;
mod step_up;
mod tokens;
mod traces;
