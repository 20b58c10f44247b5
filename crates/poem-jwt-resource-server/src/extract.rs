//! The security schemes of protected operations, as extractors: [`AccessToken`] for an
//! operation that needs a valid token meeting its requirement `R`, [`OptionalAccessToken`] for
//! one that serves anonymous callers too. Each is documented with the bearer and the DPoP
//! schemes; the token, its proof and the requirement are checked by the guard's
//! [`ResourceServer`](jwt_resource_server::ResourceServer) before the operation runs.

use std::{marker::PhantomData, sync::Arc};

use jwt_resource_server::{Claims, CustomClaims, RequestParts, Requirement, Scheme, Verified};
use poem::{Request, RequestBody, http::header};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaSecurityScheme, Registry},
};

use crate::{
    guard::{AuthFailure, OperationGuard},
    protected::note_requirement,
    spec_text::SpecText,
};

/// The verified access token of a request, once its requirement `R` (a scope, DPoP only, a
/// tuple of them; `()`: none) holds, with its custom claims read into `C` (`()`: none). An
/// operation that takes it is documented with both schemes and its refusals; a request without
/// acceptable credentials never reaches it.
///
/// ```
/// use jwt_resource_server::{DpopOnly, Issuer, ResourceServer, Scope, scope};
/// use poem_jwt_resource_server::{AccessToken, Guard};
/// use poem_openapi::{OpenApi, OpenApiService, payload::PlainText};
///
/// scope!(pub DeleteUsers = "delete:users");
///
/// /// Auth0 namespaced claims, read once when the token is verified.
/// #[derive(serde::Deserialize)]
/// struct Tenant {
///     #[serde(rename = "https://example.com/tenant")]
///     tenant: String,
/// }
///
/// struct Admin;
///
/// #[OpenApi]
/// impl Admin {
///     /// Delete a user of the caller's tenant: DPoP-bound tokens with `delete:users` only.
///     #[oai(path = "/users/:id", method = "delete")]
///     async fn delete(&self, id: poem_openapi::param::Path<String>, token: AccessToken<(DpopOnly, Scope<DeleteUsers>), Tenant>) -> PlainText<String> {
///         PlainText(format!("{} deleted from {}", id.0, token.custom().tenant))
///     }
/// }
///
/// let server = ResourceServer::builder()
///     .issuer(Issuer::auth0_domain("your-tenant.us.auth0.com"))
///     .audience("https://api.example.com")
///     .build()
///     .unwrap();
/// let spec = OpenApiService::new(Guard::new(server).protect(Admin), "admin", "1.0").spec();
/// let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
/// let operation = &spec["paths"]["/users/{id}"]["delete"];
/// assert_eq!(operation["security"], serde_json::json!([{"DPoPAuth": []}]), "DPoP only");
/// assert!(operation["responses"]["403"]["description"].as_str().unwrap().contains("`delete:users`"));
/// ```
pub struct AccessToken<R = (), C = ()> {
    token: Verified<C>,
    scheme: Scheme,
    requirement: PhantomData<fn() -> R>,
}

impl<R, C> AccessToken<R, C> {
    /// The token's claims.
    pub fn claims(&self) -> &Arc<Claims> {
        self.token.claims()
    }

    /// The token's custom claims.
    pub fn custom(&self) -> &C {
        self.token.custom()
    }

    /// How the token was sent.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The verified token.
    pub fn verified(&self) -> &Verified<C> {
        &self.token
    }
}

/// An optional access token, for operations that serve anonymous callers and personalise for
/// signed-in ones: with no `Authorization` header the operation runs with `None`; with one, the
/// credentials are checked exactly as for [`AccessToken`], and refused ones get the same 401 —
/// never a silent anonymous answer. In the spec the operation's security lists both schemes and
/// `{}`.
///
/// ```
/// use poem_jwt_resource_server::OptionalAccessToken;
/// use poem_openapi::{OpenApi, payload::PlainText};
///
/// struct Greeting;
///
/// #[OpenApi]
/// impl Greeting {
///     /// "Hello, stranger", or the caller's `sub` when a valid token is sent.
///     #[oai(path = "/hello", method = "get")]
///     async fn hello(&self, token: OptionalAccessToken) -> PlainText<String> {
///         let name = token.claims().and_then(|claims| claims.sub()).unwrap_or("stranger");
///         PlainText(format!("Hello, {name}"))
///     }
/// }
/// ```
pub struct OptionalAccessToken<C = ()>(pub Option<AccessToken<(), C>>);

impl<C> OptionalAccessToken<C> {
    /// The token's claims, when a token was sent.
    pub fn claims(&self) -> Option<&Arc<Claims>> {
        self.0.as_ref().map(AccessToken::claims)
    }
}

impl<'a, R: Requirement, C: CustomClaims> ApiExtractor<'a> for AccessToken<R, C> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let text = SpecText::current();
        vec![text.bearer_scheme, text.dpop_scheme, note_requirement::<R>()]
    }

    async fn from_request(req: &'a Request, _: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        authenticate::<R, C>(req).await
    }
}

impl<'a, C: CustomClaims> ApiExtractor<'a> for OptionalAccessToken<C> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        AccessToken::<(), C>::security_schemes()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(req: &'a Request, _: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        if !req.headers().contains_key(header::AUTHORIZATION) {
            return Ok(OptionalAccessToken(None));
        }
        authenticate::<(), C>(req).await.map(|token| OptionalAccessToken(Some(token)))
    }
}

/// The request's token, checked by the guard of its operation.
async fn authenticate<R: Requirement, C: CustomClaims>(req: &Request) -> poem::Result<AccessToken<R, C>> {
    let Some(operation) = req.extensions().get::<Arc<OperationGuard>>() else {
        // Unreachable through `Guard::protect`, which every protected operation needs: an API
        // using these extractors without it fails at start-up (see `protected.rs`).
        tracing::error!("a protected operation ran without its guard");
        return Err(poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR));
    };
    let params = operation.path_params(req);
    let parts = RequestParts {
        method: req.method().as_str(),
        path: req.original_uri().path(),
        headers: req.headers(),
        path_params: &params,
    };
    match operation.server().authenticate::<R, C>(&parts).await {
        Ok(authenticated) => {
            Ok(AccessToken { token: authenticated.token, scheme: authenticated.scheme, requirement: PhantomData })
        }
        Err(error) => Err(AuthFailure(error).into()),
    }
}

fn register_schemes(registry: &mut Registry) {
    let text = SpecText::current();
    // OpenAPI allows `bearerFormat` only beside the scheme `bearer`.
    let http = |scheme, description| MetaSecurityScheme {
        ty: "http",
        description: Some(description),
        name: None,
        key_in: None,
        scheme: Some(scheme),
        bearer_format: (scheme == "bearer").then_some("JWT"),
        flows: None,
        openid_connect_url: None,
    };
    registry.create_security_scheme(text.bearer_scheme, http("bearer", text.bearer_description));
    registry.create_security_scheme(text.dpop_scheme, http("DPoP", text.dpop_description));
}
