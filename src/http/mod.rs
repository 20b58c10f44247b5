//! The HTTP layer the routes run in:
//!
//! - [`server`] accepts connections up to a cap, sheds the one idle the longest when full, serves
//!   HTTP/1.1 on each and stops gracefully;
//! - [`connection`] holds what each connection is doing and closes it when its head, its body or
//!   its next request is late;
//! - [`drain`] fails readiness and closes connections between requests from the shutdown signal on;
//! - [`probe`] is the `healthcheck` subcommand's one request to `/healthz`;
//! - [`open_files`] raises the open-files limit the cap has to fit under;
//! - [`body_limit`] answers 413 to bodies over the limit before reading them;
//! - [`cors`] lets the configured browser origins call the API;
//! - [`html_page`](mod@html_page) gives the HTML pages their Content-Security-Policy and protective headers;
//! - [`errors`] answers everything the operations never see (404, 405 with `Allow`, 415, 400)
//!   with the same JSON body as every other failure;
//! - [`dispatch`] sends a request to its operation, or to the routes beside the operations;
//! - [`route_table`] lists every path and its methods, for `Allow` and the metrics' route label.

pub mod body_limit;
pub mod connection;
pub mod cors;
pub mod dispatch;
pub mod drain;
pub mod errors;
pub mod html_page;
pub mod open_files;
pub mod probe;
pub mod route_table;
pub mod server;

pub use body_limit::{BodyLimit, ContentTooLarge, body_read_cause, content_too_large};
pub use connection::{BodyTimedOut, Timeouts};
pub use cors::Cors;
pub use dispatch::{Dispatch, Operations};
pub use drain::Drain;
pub use errors::{FrameworkErrors, json_error};
pub use html_page::{content_security_policy, html_page, inline_script_hashes};
pub use open_files::OpenFiles;
pub use route_table::RouteTable;
pub use server::{ConnectionLimits, serve};
