//! The tutorial "Protecting your FastAPI routes using Auth0", in poem-openapi: a public route, a
//! route for any valid access token, and one for tokens with the scope `read:messages`.
//!
//! `AUTH0_DOMAIN=your-tenant.us.auth0.com AUTH0_API_AUDIENCE=https://your-api cargo run --example tutorial`

use jwt_resource_server::{Issuer, ResourceServer, Scope, scope};
use poem::{Route, Server, listener::TcpAcceptor};
use poem_jwt_resource_server::{AccessToken, Guard, TokenClaims};
use poem_openapi::{Object, OpenApi, OpenApiService, payload::Json};

scope!(pub ReadMessages = "read:messages");

#[derive(Object)]
struct Message {
    message: String,
}

#[derive(Object)]
struct Granted {
    message: String,
    data: TokenClaims,
}

struct Api;

#[OpenApi]
impl Api {
    /// Anyone
    #[oai(path = "/api/public", method = "get")]
    async fn public(&self) -> Json<Message> {
        let message = "Hello from a public endpoint! You don't need to be authenticated to see this.";
        Json(Message { message: message.into() })
    }

    /// Any valid access token for this API
    #[oai(path = "/api/private", method = "get")]
    async fn private(&self, token: AccessToken) -> Json<Granted> {
        Json(Granted { message: "Access granted".into(), data: token.claims().clone().into() })
    }

    /// An access token with the scope read:messages
    #[oai(path = "/api/private-scoped", method = "get")]
    async fn private_scoped(&self, token: AccessToken<Scope<ReadMessages>>) -> Json<Granted> {
        Json(Granted { message: "Access granted".into(), data: token.claims().clone().into() })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name| std::env::var(name).ok().filter(|value: &String| !value.is_empty());
    let issuer = match (env("AUTH0_ISSUER"), env("AUTH0_DOMAIN")) {
        (Some(issuer), _) => Issuer::url(issuer),
        (None, Some(domain)) => Issuer::auth0_domain(&domain),
        (None, None) => return Err("set AUTH0_DOMAIN (or AUTH0_ISSUER) and AUTH0_API_AUDIENCE".into()),
    };
    let audience = env("AUTH0_API_AUDIENCE").ok_or("set AUTH0_API_AUDIENCE")?;
    let guard = Guard::new(ResourceServer::builder().issuer(issuer).audience(audience).build()?);
    let api = OpenApiService::new(guard.protect(Api), "Tutorial", "1.0");
    let app = Route::new().nest("/docs", api.swagger_ui()).nest("/", api);
    let port: u16 = env("PORT").map_or(Ok(3000), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}/ (Swagger UI at /docs)", listener.local_addr()?);
    Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?).run(app).await?;
    Ok(())
}
