//! The development issuer's routes: `POST /dev/token` (in the spec, tag `development`), and the
//! discovery and JWKS documents (plain routes, as an identity provider serves them).

use std::sync::Arc;

use poem::{EndpointExt, Response, Route, get, handler, web::Data};
use poem_openapi::{
    ApiRequest, ApiResponse, Object, OpenApi, Tags,
    payload::{Form, Json},
};
use serde::Deserialize;

use super::{DevIssuer, TokenOrder};
use crate::auth::{ErrorBody, unix_now};

/// The tag of the development issuer's operations; a tag of its own keeps it out of the
/// production spec.
#[derive(Tags)]
#[oai(rename_all = "lowercase")]
pub enum DevTags {
    /// The built-in development issuer: get a token here, then press Authorize
    Development,
}

/// What to put in the token. Every field is optional.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "DevTokenRequest")]
pub struct TokenRequest {
    /// Space-separated scopes, also written as `permissions` (default `read:messages`).
    #[oai(default = "default_scope")]
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Subject (default `dev-user`).
    #[oai(default = "default_subject")]
    #[serde(default = "default_subject")]
    pub sub: String,
    /// Lifetime in seconds, 1 to 86400 (default 3600).
    #[oai(default = "default_expires_in")]
    #[serde(default = "default_expires_in")]
    pub expires_in: u32,
}

fn default_scope() -> String {
    "read:messages".to_owned()
}

fn default_subject() -> String {
    "dev-user".to_owned()
}

fn default_expires_in() -> u32 {
    3600
}

/// The token request, as JSON or as a form.
#[derive(ApiRequest)]
pub enum TokenRequestBody {
    /// JSON body.
    Json(Json<TokenRequest>),
    /// Form body (`curl -d scope=read:messages`).
    Form(Form<TokenRequest>),
}

/// A minted access token.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DevTokenResponse")]
pub struct TokenResponse {
    /// The access token: send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// The granted scopes.
    pub scope: String,
}

/// The answer of `POST /dev/token`.
#[derive(ApiResponse)]
pub enum TokenAnswer {
    /// A signed access token for this API.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>),
    /// The request asks for something the issuer does not grant.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
}

/// `POST /dev/token`.
pub struct DevTokenApi {
    issuer: Arc<DevIssuer>,
}

impl DevTokenApi {
    /// The token endpoint of `issuer`.
    pub fn new(issuer: Arc<DevIssuer>) -> Self {
        DevTokenApi { issuer }
    }
}

#[OpenApi(tag = "DevTags::Development")]
impl DevTokenApi {
    /// Get a development access token
    ///
    /// Signs an access token for this API with the development issuer's key. Exists only while
    /// the development issuer runs (the `dev` profile with no issuer configured).
    #[oai(path = "/dev/token", method = "post", operation_id = "createDevToken")]
    async fn token(&self, body: TokenRequestBody) -> TokenAnswer {
        let (TokenRequestBody::Json(Json(request)) | TokenRequestBody::Form(Form(request))) = body;
        if !(1..=DevIssuer::MAX_EXPIRES_IN).contains(&request.expires_in) {
            return bad_request(format!("expires_in must be between 1 and {} seconds", DevIssuer::MAX_EXPIRES_IN));
        }
        let order = TokenOrder { sub: request.sub, scope: request.scope, expires_in: request.expires_in };
        match self.issuer.mint(&order, unix_now()) {
            Ok(access_token) => TokenAnswer::Ok(Json(TokenResponse {
                access_token,
                token_type: "Bearer".to_owned(),
                expires_in: order.expires_in,
                scope: order.scope,
            })),
            Err(error) => bad_request(error.to_string()),
        }
    }
}

fn bad_request(description: String) -> TokenAnswer {
    TokenAnswer::BadRequest(Json(ErrorBody { error: "invalid_request".to_owned(), error_description: description }))
}

#[handler]
fn discovery(Data(issuer): Data<&Arc<DevIssuer>>) -> Response {
    json_response(issuer.discovery_document(), "application/json")
}

#[handler]
fn jwks(Data(issuer): Data<&Arc<DevIssuer>>) -> Response {
    json_response(issuer.jwks_document(), "application/jwk-set+json")
}

fn json_response(body: &str, content_type: &str) -> Response {
    Response::builder().content_type(content_type).body(body.to_owned())
}

/// Adds the discovery and JWKS routes under `/dev/.well-known/` to `route`.
pub fn with_documents(route: Route, issuer: Arc<DevIssuer>) -> Route {
    route
        .at("/dev/.well-known/openid-configuration", get(discovery).data(issuer.clone()))
        .at("/dev/.well-known/jwks.json", get(jwks).data(issuer))
}
