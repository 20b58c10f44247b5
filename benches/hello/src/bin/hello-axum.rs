//! axum: a handler answering `Json`.

use axum::{Json, Router, routing::get};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn hello() -> Json<Message> {
    Json(Message { message: "Hello, World!" })
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind(hello_worlds::listen_address()).await.expect("bind");
    axum::serve(listener, Router::new().route("/", get(hello))).await.expect("serve");
}
