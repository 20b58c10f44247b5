//! The HTTP API: typed poem-openapi operations, their spec, and Swagger UI.

pub mod docs;
pub mod health;
pub mod messages;
pub mod payload;

use std::sync::Arc;

use jwt_resource_server::{Issuer, ResourceServer};
use poem_jwt_resource_server::{Guard, Protected, SpecText};
use poem_openapi::{OpenApi, OpenApiService, Tags};

pub use health::{HealthApi, PROBE_PATHS};

use crate::http::Drain;
pub use messages::{MFA_MAX_AGE, MessagesApi, MultiFactor, ReadMessages};

/// The groups operations are listed under.
#[derive(Tags)]
#[oai(rename_all = "lowercase")]
pub enum ApiTags {
    /// Public and protected messages
    Messages,
    /// Liveness and readiness probes
    Health,
}

/// The spec's words: the scheme names this API has always had, and Auth0's terms.
pub fn spec_text() -> SpecText {
    SpecText {
        bearer_description: "An OAuth 2.0 access token (a JWT signed by the identity provider) in\n`Authorization: Bearer <token>`. With Auth0, request it with this API's identifier as\n`audience`.",
        sub_description: "Subject: the user (auth0|…) or the client (…@clients)",
        permissions_description: "Auth0 RBAC permissions",
        ..SpecText::default()
    }
}

/// The operations every deployment has.
pub type Apis = (MessagesApi, HealthApi);

/// The production surface, guarded by `guard`, its readiness failing once `drain` starts: the
/// operations whose spec is committed in `openapi/`.
pub fn service(guard: &Guard, drain: Drain) -> OpenApiService<Protected<Apis>, ()> {
    describe(protected(guard, drain))
}

/// The service's operations, guarded by `guard`.
pub fn protected(guard: &Guard, drain: Drain) -> Protected<Apis> {
    guard.protect((MessagesApi, HealthApi::new(Arc::clone(guard.server()), drain)))
}

/// The committed spec, made without settings: the operations guarded by a resource server that
/// is never asked anything (the spec depends on the operations' types alone).
pub fn spec() -> OpenApiService<Protected<Apis>, ()> {
    let server = ResourceServer::builder()
        .issuer(Issuer::url("https://issuer.invalid/"))
        .audience("https://api.invalid")
        .build()
        .expect("fixed values that pass the checks");
    let guard = Guard::builder(server).spec_text(spec_text()).build().expect("the service's words are its only ones");
    service(&guard, Drain::new())
}

/// An OpenAPI service for `apis`, with the service's title, version and description.
pub fn describe<T: OpenApi>(apis: T) -> OpenApiService<T, ()> {
    OpenApiService::new(apis, "protected-api", env!("CARGO_PKG_VERSION")).description(
        "Routes protected by OAuth 2.0 bearer access tokens: JWTs issued by Auth0 (or any OpenID \
         Connect provider) and checked against the issuer's signing keys. Failures answer per \
         RFC 6750 with a JSON body `{error, error_description}` and a `WWW-Authenticate` challenge.",
    )
}
