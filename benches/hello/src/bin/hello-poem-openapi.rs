//! poem-openapi: one `#[OpenApi]` operation answering `Json<Object>`.

use poem::{Server, listener::TcpListener};
use poem_openapi::{Object, OpenApi, OpenApiService, payload::Json};

#[derive(Object)]
struct Message {
    message: String,
}

struct Hello;

#[OpenApi]
impl Hello {
    #[oai(path = "/", method = "get")]
    async fn hello(&self) -> Json<Message> {
        Json(Message { message: "Hello, World!".to_owned() })
    }
}

#[tokio::main]
async fn main() {
    let listener = TcpListener::bind(hello_worlds::listen_address());
    Server::new(listener).run(OpenApiService::new(Hello, "hello", "1")).await.expect("serve");
}
