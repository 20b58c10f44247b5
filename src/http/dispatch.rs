//! The first router a request meets: a request to an operation's path goes straight to the
//! operations (poem-openapi's own router), any other to the routes beside them — the spec, Swagger
//! UI, the metadata, the development issuer, `/metrics` — whose router answers 404 for a path
//! nobody serves.
//!
//! The operations used to be nested at `/` under that router, which cost every API request a
//! second route match, a rebuilt URI and two path patterns formatted into its extensions.

use std::sync::Arc;

use poem::{Endpoint, Request, Response, Result};

use super::RouteTable;

/// Sends each request to `operations` when its path is an operation's path in `table`, else to
/// `others`.
pub struct Dispatch<O, R> {
    table: Arc<RouteTable>,
    operations: O,
    others: R,
}

impl<O, R> Dispatch<O, R> {
    /// Dispatches by the operation paths of `table`.
    pub fn new(table: Arc<RouteTable>, operations: O, others: R) -> Self {
        Dispatch { table, operations, others }
    }
}

impl<O: Endpoint<Output = Response>, R: Endpoint<Output = Response>> Endpoint for Dispatch<O, R> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        if self.table.is_operation(req.uri().path()) {
            self.operations.call(req).await
        } else {
            self.others.call(req).await
        }
    }
}
