//! poem: a handler answering `Json`.

use poem::{Route, Server, get, handler, listener::TcpListener, web::Json};
use serde::Serialize;

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[handler]
fn hello() -> Json<Message> {
    Json(Message { message: "Hello, World!" })
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind(hello_worlds::listen_address());
    Server::new(listener).run(Route::new().at("/", get(hello))).await.expect("serve");
}
