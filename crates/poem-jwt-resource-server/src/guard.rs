//! The guard: a [`ResourceServer`] in front of poem-openapi operations. It protects APIs
//! ([`Guard::protect`]), answers refusals as RFC 6750 and RFC 9449 say — status, JSON body,
//! `WWW-Authenticate` challenges, `Retry-After`, `DPoP-Nonce` — and serves the RFC 9728
//! metadata ([`Guard::metadata_endpoint`]).

use std::sync::Arc;

use jwt_resource_server::{AuthError, PathParams, ResourceMetadata, ResourceServer};
use poem::{
    Endpoint, Request, Response,
    error::ResponseError,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::OpenApi;

use crate::{
    body::{ErrorBody, ErrorCode},
    protected::Protected,
    spec_text::{SpecText, SpecTextTaken},
};

/// The header carrying a DPoP nonce to the client.
const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Protects poem-openapi operations with a [`ResourceServer`]. Cheap to clone.
///
/// ```
/// use jwt_resource_server::{Issuer, ResourceServer};
/// use poem_jwt_resource_server::{AccessToken, Guard};
/// use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
///
/// struct Api;
///
/// #[OpenApi]
/// impl Api {
///     #[oai(path = "/private", method = "get")]
///     async fn private(&self, token: AccessToken) -> PlainText<String> {
///         PlainText(format!("hello, {}", token.claims().sub().unwrap_or("you")))
///     }
/// }
///
/// let server = ResourceServer::builder()
///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
///     .audience("https://api.example.com")
///     .build()
///     .unwrap();
/// let guard = Guard::new(server);
/// let api = OpenApiService::new(guard.protect(Api), "my API", "1.0");
/// assert!(api.spec().contains("BearerAuth"));
/// ```
#[derive(Clone)]
pub struct Guard {
    server: Arc<ResourceServer>,
}

/// Builds a [`Guard`] with the spec's words of the API.
#[must_use]
pub struct GuardBuilder {
    server: ResourceServer,
    spec_text: Option<SpecText>,
}

impl GuardBuilder {
    /// The names and descriptions the spec uses (default: [`SpecText::default`]).
    pub fn spec_text(mut self, text: SpecText) -> Self {
        self.spec_text = Some(text);
        self
    }

    /// The guard; refused when this process's specs already use other words.
    pub fn build(self) -> Result<Guard, SpecTextTaken> {
        if let Some(text) = self.spec_text {
            text.install()?;
        }
        Ok(Guard { server: Arc::new(self.server) })
    }
}

impl Guard {
    /// A guard checking requests with `server`, the spec in its default words.
    pub fn new(server: ResourceServer) -> Self {
        Guard { server: Arc::new(server) }
    }

    /// A guard checking requests with `server`, built with more choices.
    pub fn builder(server: ResourceServer) -> GuardBuilder {
        GuardBuilder { server, spec_text: None }
    }

    /// The resource server that checks the requests.
    pub fn server(&self) -> &Arc<ResourceServer> {
        &self.server
    }

    /// `api`, its operations that take an access token protected by this guard.
    pub fn protect<T: OpenApi>(&self, api: T) -> Protected<T> {
        Protected::new(api, self.clone())
    }

    /// The answer to `error`, for a request that used the DPoP scheme or not, to an operation that
    /// accepts DPoP-bound tokens only or not.
    pub fn answer(&self, error: &AuthError, used_dpop: bool, dpop_only: bool) -> Response {
        let body = ErrorBody::new(ErrorCode::from(error.code()), error.to_string());
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut response = Response::builder()
            .status(status)
            .content_type("application/json; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .extension(Refused(error.clone()))
            .body(serde_json::to_vec(&body).unwrap_or_default());
        let headers = response.headers_mut();
        for line in self.server.challenges(error, used_dpop, dpop_only) {
            if let Ok(value) = HeaderValue::from_str(&line) {
                headers.append(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Some(retry_after) = error.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
        }
        response
    }

    /// An endpoint serving the RFC 9728 metadata of this resource, whose operations need `scopes`
    /// (see [`Protected::operations`]), named `name`.
    pub fn metadata_endpoint<'a>(&self, scopes: impl IntoIterator<Item = &'a str>, name: &str) -> MetadataEndpoint {
        let metadata = self.server.resource_metadata(scopes, name);
        MetadataEndpoint { body: serde_json::to_string(&metadata).unwrap_or_default(), metadata }
    }
}

/// Serves the RFC 9728 metadata document.
pub struct MetadataEndpoint {
    body: String,
    metadata: ResourceMetadata,
}

impl MetadataEndpoint {
    /// The document served.
    pub fn metadata(&self) -> &ResourceMetadata {
        &self.metadata
    }
}

impl Endpoint for MetadataEndpoint {
    type Output = Response;

    async fn call(&self, _: Request) -> poem::Result<Response> {
        Ok(Response::builder().content_type("application/json").body(self.body.clone()))
    }
}

/// Attached to the answer of every refused request, so an application logs and counts refusals
/// in one place (a middleware reads it from the response's extensions).
#[derive(Debug, Clone)]
pub struct Refused(pub AuthError);

/// A refusal on its way from the extractor to the operation's guard, which answers it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct AuthFailure(pub AuthError);

impl ResponseError for AuthFailure {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }
}

/// What the endpoint of one protected operation gives its extractor: the guard, whether the
/// operation takes DPoP-bound tokens only, and the names of its path's parameters.
pub(crate) struct OperationGuard {
    guard: Guard,
    dpop_only: bool,
    path_names: Vec<String>,
}

impl OperationGuard {
    pub(crate) fn new(guard: Guard, dpop_only: bool, path_names: Vec<String>) -> Self {
        OperationGuard { guard, dpop_only, path_names }
    }

    pub(crate) fn server(&self) -> &ResourceServer {
        &self.guard.server
    }

    /// The answer to a refusal of this operation.
    pub(crate) fn answer(&self, error: &AuthError, used_dpop: bool) -> Response {
        self.guard.answer(error, used_dpop, self.dpop_only)
    }

    /// Adds the current DPoP nonce to the answer to a request that used the DPoP scheme, when
    /// nonces are required.
    pub(crate) fn add_nonce(&self, response: &mut Response, used_dpop: bool) {
        if let Some(nonce) = self.guard.server.nonce_for_answer(used_dpop) {
            response.headers_mut().insert(DPOP_NONCE_HEADER, nonce);
        }
    }

    /// The path parameters of `req`, by the names the spec gives them.
    pub(crate) fn path_params<'a>(&'a self, req: &'a Request) -> RoutedParams<'a> {
        RoutedParams { req, names: &self.path_names }
    }
}

/// Path parameters as poem-openapi routes them (`:param0`, …), found by their names in the spec.
pub(crate) struct RoutedParams<'a> {
    req: &'a Request,
    names: &'a [String],
}

impl PathParams for RoutedParams<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        let index = self.names.iter().position(|known| known == name)?;
        self.req.raw_path_param(&format!("param{index}"))
    }
}
