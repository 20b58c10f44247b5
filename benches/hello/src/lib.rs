//! The baselines the load test compares the service with: one `GET /` answering
//! `{"message":"Hello, World!"}` as JSON, on the bare framework, with no middleware and no log.
//! Each binary listens on the address in `LISTEN` (default `127.0.0.1:3000`) and runs tokio's
//! multi-threaded runtime, as the service does.

use std::net::SocketAddr;

/// The address to listen on.
pub fn listen_address() -> SocketAddr {
    std::env::var("LISTEN")
        .ok()
        .map(|address| address.parse().expect("LISTEN is a socket address"))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)))
}
