//! The HTTP API: typed poem-openapi operations, their spec, and Swagger UI.

pub mod docs;
pub mod health;
pub mod messages;
pub mod payload;

use poem_openapi::{OpenApi, OpenApiService, Tags};

pub use health::{HealthApi, PROBE_PATHS};
pub use messages::{MessagesApi, ReadMessages};

/// The groups operations are listed under.
#[derive(Tags)]
#[oai(rename_all = "lowercase")]
pub enum ApiTags {
    /// Public and protected messages
    Messages,
    /// Liveness and readiness probes
    Health,
}

/// Every scope an operation requires, for the resource metadata and the login.
pub const SCOPES: &[&str] = &[<ReadMessages as crate::auth::RequiredScope>::SCOPE];

/// The scope each operation requires, by `operationId`, for the served spec's login scheme (a
/// test checks it against the operations whose 403 the spec documents).
pub const OPERATION_SCOPES: &[(&str, &str)] =
    &[("getPrivateScoped", <ReadMessages as crate::auth::RequiredScope>::SCOPE)];

/// The operations every deployment has.
pub type Apis = (MessagesApi, HealthApi);

/// The production surface: the operations and the spec committed in `openapi/`.
pub fn service() -> OpenApiService<Apis, ()> {
    describe((MessagesApi, HealthApi))
}

/// An OpenAPI service for `apis`, with the service's title, version and description.
pub fn describe<T: OpenApi>(apis: T) -> OpenApiService<T, ()> {
    OpenApiService::new(apis, "protected-api", env!("CARGO_PKG_VERSION")).description(
        "Routes protected by OAuth 2.0 bearer access tokens: JWTs issued by Auth0 (or any OpenID \
         Connect provider) and checked against the issuer's signing keys. Failures answer per \
         RFC 6750 with a JSON body `{error, error_description}` and a `WWW-Authenticate` challenge.",
    )
}
