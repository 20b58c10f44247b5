//! Protects poem-openapi operations with OAuth 2.0 access tokens of Auth0 or any OpenID provider,
//! checked by [`jwt_resource_server`]: declare what an operation needs in its signature, and
//! the spec, the checks and the RFC 6750 / RFC 9449 answers follow.
//!
//! ```
//! use jwt_resource_server::{Issuer, ResourceServer, Scope, scope};
//! use poem_jwt_resource_server::{AccessToken, Guard, OptionalAccessToken};
//! use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
//!
//! scope!(pub ReadMessages = "read:messages");
//!
//! struct Api;
//!
//! #[OpenApi]
//! impl Api {
//!     /// Anyone.
//!     #[oai(path = "/public", method = "get")]
//!     async fn public(&self, token: OptionalAccessToken) -> PlainText<String> {
//!         let who = token.claims().and_then(|claims| claims.sub()).unwrap_or("stranger");
//!         PlainText(format!("hello, {who}"))
//!     }
//!
//!     /// Holders of a token with `read:messages`.
//!     #[oai(path = "/messages", method = "get")]
//!     async fn messages(&self, _token: AccessToken<Scope<ReadMessages>>) -> PlainText<&'static str> {
//!         PlainText("the messages")
//!     }
//! }
//!
//! let server = ResourceServer::builder()
//!     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
//!     .audience("https://api.example.com")
//!     .build()
//!     .unwrap();
//! let guard = Guard::new(server);
//! let service = OpenApiService::new(guard.protect(Api), "messages", "1.0");
//! let spec: serde_json::Value = serde_json::from_str(&service.spec()).unwrap();
//! assert_eq!(spec["paths"]["/messages"]["get"]["responses"]["403"]["description"],
//!     "The access token does not grant the scope `read:messages` (neither in its `scope` claim nor in its `permissions`)");
//! ```
//!
//! - [`Guard`]: the [`ResourceServer`](jwt_resource_server::ResourceServer) in front of the
//!   operations; [`Guard::protect`] wraps an API ([`Protected`]), which is then served as any.
//! - [`AccessToken<R, C>`]: the verified token of an operation that requires `R` (a
//!   [`Scope`](jwt_resource_server::Scope), [`DpopOnly`](jwt_resource_server::DpopOnly),
//!   [`PathOrganization`](jwt_resource_server::PathOrganization),
//!   [`StepUp`](jwt_resource_server::StepUp), a tuple, or a
//!   [`Requirement`](jwt_resource_server::Requirement) of yours), with custom
//!   claims `C`; [`OptionalAccessToken`] for operations that also serve anonymous callers.
//! - Refusals: the [`ErrorBody`] in JSON, the challenges, and [`Refused`] on the response for
//!   logs and metrics.
//! - [`TokenClaims`]: the claims in a response, as the token carried them.

#![deny(missing_docs)]

mod body;
mod claims;
mod extract;
mod guard;
mod openapi;
mod protected;
mod spec_text;

pub use body::{ErrorBody, ErrorCode};
pub use claims::TokenClaims;
pub use extract::{AccessToken, OptionalAccessToken};
pub use guard::{Guard, GuardBuilder, MetadataEndpoint, Refused};
pub use protected::{Protected, ProtectedOperation};
pub use spec_text::{SpecText, SpecTextTaken};
