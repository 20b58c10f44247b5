//! Beyond the tutorial: typed custom claims (Auth0's namespaced claims), a route that serves
//! anonymous callers and greets signed-in ones, and a route that takes DPoP-bound tokens only
//! (RFC 9449) while the others also take bearer tokens.
//!
//! `AUTH0_DOMAIN=your-tenant.us.auth0.com AUTH0_API_AUDIENCE=https://your-api cargo run --example custom_claims`
//!
//! DPoP proofs name the URL they are for: set `PUBLIC_URL` to the URL clients call (default
//! `http://127.0.0.1:$PORT`).

use jwt_resource_server::{DpopConfig, DpopOnly, Issuer, ResourceServer, Scope, scope};
use poem::{Route, Server, listener::TcpAcceptor};
use poem_jwt_resource_server::{AccessToken, Guard, OptionalAccessToken};
use poem_openapi::{Object, OpenApi, OpenApiService, payload::Json};
use serde::Deserialize;

scope!(
    /// Moving money.
    pub Transfer = "transfer:funds"
);

/// The claims this API reads beyond the standard ones: the roles an Auth0 Action adds under a
/// namespace of yours.
#[derive(Deserialize)]
struct Roles {
    #[serde(rename = "https://example.com/roles", default)]
    roles: Vec<String>,
}

#[derive(Object)]
struct Greeting {
    message: String,
    roles: Vec<String>,
}

struct Api;

#[OpenApi]
impl Api {
    /// Anyone; by name and roles when signed in
    #[oai(path = "/api/hello", method = "get")]
    async fn hello(&self, token: OptionalAccessToken<Roles>) -> Json<Greeting> {
        let Some(token) = token.0 else {
            return Json(Greeting { message: "Hello, stranger".into(), roles: Vec::new() });
        };
        let name = token.claims().sub().unwrap_or("signed-in caller");
        Json(Greeting { message: format!("Hello, {name}"), roles: token.custom().roles.clone() })
    }

    /// Holders of a DPoP-bound token with the scope transfer:funds
    #[oai(path = "/api/transfers", method = "post")]
    async fn transfer(&self, token: AccessToken<(DpopOnly, Scope<Transfer>), Roles>) -> Json<Greeting> {
        let name = token.claims().sub().unwrap_or("signed-in caller");
        Json(Greeting { message: format!("Transfer accepted for {name}"), roles: token.custom().roles.clone() })
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
    let port: u16 = env("PORT").map_or(Ok(3000), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let public_url = env("PUBLIC_URL").unwrap_or(format!("http://{}", listener.local_addr()?));
    let server = ResourceServer::builder()
        .issuer(issuer)
        .audience(env("AUTH0_API_AUDIENCE").ok_or("set AUTH0_API_AUDIENCE")?)
        .dpop(DpopConfig::default())
        .public_url(public_url)
        .build()?;
    let api = OpenApiService::new(Guard::new(server).protect(Api), "Custom claims and DPoP", "1.0");
    let app = Route::new().nest("/docs", api.swagger_ui()).nest("/", api);
    println!("listening on http://{}/ (Swagger UI at /docs)", listener.local_addr()?);
    Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?).run(app).await?;
    Ok(())
}
