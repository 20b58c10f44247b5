//! The development issuer's routes: `POST /dev/token` (in the spec, tag `development`), and the
//! discovery and JWKS documents (plain routes, as an identity provider serves them).

use std::sync::Arc;

use jwt_resource_server::{
    AuthError, ProofRejection, ResourceServer,
    dpop::{ProofTarget, proof_header},
};
use poem::{
    EndpointExt, Request, Response, RouteMethod,
    endpoint::BoxEndpoint,
    get, handler,
    http::{Method, StatusCode},
    post,
    web::Data,
};
use poem_jwt_resource_server::{ErrorBody, ErrorCode};
use poem_openapi::{
    ApiRequest, ApiResponse, Object, OpenApi, Tags,
    payload::{Form, Json},
};
use serde::Deserialize;

use super::{
    DevIssuer, SignIn, TokenOrder,
    authorize::{
        AUTHORIZE_PATH, AuthorizationServer, OAUTH_TOKEN_PATH, authorize_page, authorize_submit, exchange_code,
    },
};
use crate::{
    api::payload::JsonObject,
    http::{BodyTimedOut, body_read_cause, content_too_large},
};

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
    #[oai(default = "default_scope", validator(max_length = 1024))]
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Subject (default `dev-user`).
    #[oai(default = "default_subject", validator(max_length = 255))]
    #[serde(default = "default_subject")]
    pub sub: String,
    /// Lifetime in seconds, 1 to 86400 (default 3600).
    #[oai(default = "default_expires_in", validator(minimum(value = "1"), maximum(value = "86400")))]
    #[serde(default = "default_expires_in")]
    pub expires_in: u32,
    /// The Auth0 Organization's id (`org_id`), for a token issued in its context.
    #[oai(validator(max_length = 64))]
    #[serde(default, deserialize_with = "present")]
    pub org_id: Option<String>,
    /// The organization's name (`org_name`).
    #[oai(validator(max_length = 64))]
    #[serde(default, deserialize_with = "present")]
    pub org_name: Option<String>,
    /// The authentication context (`acr`), e.g.
    /// `http://schemas.openid.net/pape/policies/2007/06/multi-factor` for a multi-factor sign-in.
    #[oai(validator(max_length = 255))]
    #[serde(default, deserialize_with = "present")]
    pub acr: Option<String>,
    /// The authentication methods (`amr`), e.g. `pwd mfa`, space-separated.
    #[oai(validator(max_length = 255))]
    #[serde(default, deserialize_with = "present")]
    pub amr: Option<String>,
    /// When the user signed in, in Unix seconds (`auth_time`); default: now, when `acr` or `amr`
    /// is given.
    #[serde(default, deserialize_with = "present")]
    pub auth_time: Option<i64>,
}

/// An optional field that, when sent, holds a value of its type: `null` is refused, as the
/// schema (a field that may be left out, never `null`) says.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The bounds the schema states, for the bodies its validators do not see.
impl TokenRequest {
    /// Longest `scope`, in characters.
    pub const MAX_SCOPE_CHARS: usize = 1024;
    /// Longest `sub`, in characters.
    pub const MAX_SUB_CHARS: usize = 255;
    /// Longest lifetime, in seconds.
    pub const MAX_EXPIRES_IN: u32 = 86_400;
    /// Longest `org_id` and `org_name`, in characters.
    pub const MAX_ORG_CHARS: usize = 64;
    /// Longest `acr` and `amr`, in characters.
    pub const MAX_SIGN_IN_CHARS: usize = 255;

    fn check(&self) -> Result<(), String> {
        if self.scope.chars().count() > Self::MAX_SCOPE_CHARS {
            return Err(format!("scope is longer than {} characters", Self::MAX_SCOPE_CHARS));
        }
        if self.sub.chars().count() > Self::MAX_SUB_CHARS {
            return Err(format!("sub is longer than {} characters", Self::MAX_SUB_CHARS));
        }
        if !(1..=Self::MAX_EXPIRES_IN).contains(&self.expires_in) {
            return Err(format!("expires_in must be between 1 and {} seconds", Self::MAX_EXPIRES_IN));
        }
        for (name, value, max) in [
            ("org_id", &self.org_id, Self::MAX_ORG_CHARS),
            ("org_name", &self.org_name, Self::MAX_ORG_CHARS),
            ("acr", &self.acr, Self::MAX_SIGN_IN_CHARS),
            ("amr", &self.amr, Self::MAX_SIGN_IN_CHARS),
        ] {
            if value.as_deref().is_some_and(|value| value.chars().count() > max) {
                return Err(format!("{name} is longer than {max} characters"));
            }
        }
        Ok(())
    }

    /// How the user signed in, as the token will say it: `auth_time` now (`now`) unless given,
    /// when `acr` or `amr` is.
    fn sign_in(&self, now: i64) -> SignIn {
        let amr: Vec<String> =
            self.amr.as_deref().unwrap_or_default().split_ascii_whitespace().map(str::to_owned).collect();
        let signed_in = self.acr.is_some() || !amr.is_empty();
        SignIn { acr: self.acr.clone(), auth_time: self.auth_time.or(signed_in.then_some(now)), amr }
    }
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
    Json(JsonObject<TokenRequest>),
    /// Form body (`curl -d scope=read:messages`).
    Form(Form<TokenRequest>),
}

/// A minted access token.
#[derive(Debug, Clone, Object)]
#[oai(rename = "DevTokenResponse")]
pub struct TokenResponse {
    /// The access token: send it as `Authorization: Bearer <access_token>`, or as
    /// `Authorization: DPoP <access_token>` with a proof when it is DPoP-bound.
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a token bound to the key of the request's DPoP proof.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// The granted scopes.
    pub scope: String,
}

/// The answer of `POST /dev/token`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "refused_body")]
pub enum TokenAnswer {
    /// A signed access token for this API.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>),
    /// The body cannot be parsed, or asks for something the issuer does not grant
    /// (`invalid_request`); or the DPoP proof is not acceptable (`invalid_dpop_proof`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The body did not arrive within `server.body_timeout` (`request_timeout`).
    #[oai(status = 408)]
    RequestTimeout(Json<ErrorBody>),
    /// The body is larger than the service accepts (`content_too_large`).
    #[oai(status = 413)]
    ContentTooLarge(Json<ErrorBody>),
    /// The body is neither JSON nor a form, or has no `Content-Type` (`unsupported_media_type`).
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// The DPoP proof cannot be checked for replay right now (`temporarily_unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The answer to a body poem-openapi could not read or parse.
fn refused_body(error: poem::Error) -> TokenAnswer {
    if let Some(too_large) = content_too_large(&error) {
        return TokenAnswer::ContentTooLarge(Json(ErrorBody::new(ErrorCode::ContentTooLarge, too_large.to_string())));
    }
    if let Some(timed_out) = body_read_cause::<BodyTimedOut>(&error) {
        return TokenAnswer::RequestTimeout(Json(ErrorBody::new(ErrorCode::RequestTimeout, timed_out.to_string())));
    }
    if error.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        let description = "send the body as application/json or application/x-www-form-urlencoded".to_owned();
        return TokenAnswer::UnsupportedMediaType(Json(ErrorBody::new(ErrorCode::UnsupportedMediaType, description)));
    }
    bad_request(error.to_string())
}

/// `POST /dev/token`.
#[derive(Clone)]
pub struct DevTokenApi {
    issuer: Arc<DevIssuer>,
    server: Arc<ResourceServer>,
}

impl DevTokenApi {
    /// The token endpoint of `issuer`, binding tokens to the key of a DPoP proof checked as the
    /// resource `server` checks them (none when its DPoP is disabled).
    pub fn new(issuer: Arc<DevIssuer>, server: Arc<ResourceServer>) -> Self {
        DevTokenApi { issuer, server }
    }

    /// The thumbprint of the key a valid proof in `req` was signed with (RFC 9449 §4.3, §5);
    /// `None` without a `DPoP` header.
    async fn proof_key(&self, req: &Request) -> Result<Option<String>, TokenAnswer> {
        let refused = |rejection: ProofRejection| {
            TokenAnswer::BadRequest(Json(ErrorBody::new(ErrorCode::InvalidDpopProof, rejection.to_string())))
        };
        let Some(proof) = proof_header(req.headers()).map_err(refused)? else {
            return Ok(None);
        };
        let Some(dpop) = self.server.dpop() else {
            return Err(bad_request("DPoP is disabled (dpop.mode): send the request without a DPoP header".into()));
        };
        let target = ProofTarget { method: req.method().as_str(), path: req.original_uri().path() };
        let proof = dpop.check_proof(proof, target).map_err(refused)?;
        match dpop.remember(&proof).await {
            Ok(()) => Ok(Some(proof.jkt)),
            Err(AuthError::InvalidProof(rejection)) => Err(refused(rejection)),
            Err(unavailable) => {
                Err(TokenAnswer::Unavailable(Json(ErrorBody::new(unavailable.code().into(), unavailable.to_string()))))
            }
        }
    }
}

#[OpenApi(tag = "DevTags::Development")]
impl DevTokenApi {
    /// Get a development access token
    ///
    /// Signs an access token for this API with the development issuer's key. With a `DPoP`
    /// header holding a proof (RFC 9449 §4: `htm` POST, `htu` this URL) the token is bound to the
    /// proof's key (`cnf.jkt`) and answered with `token_type` `DPoP`; a proof that is not
    /// acceptable gets 400 `invalid_dpop_proof`. (The header is not a declared parameter: no
    /// value a schema can describe is a valid proof.) Exists only while the development issuer
    /// runs (the `dev` profile with no issuer configured).
    #[oai(path = "/dev/token", method = "post", operation_id = "createDevToken")]
    async fn token(&self, req: &Request, body: TokenRequestBody) -> TokenAnswer {
        let (TokenRequestBody::Json(JsonObject(request)) | TokenRequestBody::Form(Form(request))) = body;
        // Both bodies are read by serde, so the schema's validators are checked here.
        if let Err(problem) = request.check() {
            return bad_request(problem);
        }
        let jkt = match self.proof_key(req).await {
            Ok(jkt) => jkt,
            Err(answer) => return answer,
        };
        let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
        let sign_in = request.sign_in(self.issuer.now());
        let order = TokenOrder {
            sub: request.sub,
            scope: request.scope,
            expires_in: request.expires_in,
            jkt,
            sign_in,
            org_id: request.org_id,
            org_name: request.org_name,
        };
        match self.issuer.mint(&order) {
            Ok(access_token) => TokenAnswer::Ok(Json(TokenResponse {
                access_token,
                token_type: token_type.to_owned(),
                expires_in: order.expires_in,
                scope: order.scope,
            })),
            Err(error) => bad_request(error.to_string()),
        }
    }
}

fn bad_request(description: String) -> TokenAnswer {
    TokenAnswer::BadRequest(Json(ErrorBody::new(ErrorCode::InvalidRequest, description)))
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

/// Where the development issuer's OpenID discovery document is served.
pub const DISCOVERY_PATH: &str = "/dev/.well-known/openid-configuration";

/// Where the development issuer's key set is served.
pub const JWKS_PATH: &str = "/dev/.well-known/jwks.json";

/// The discovery and JWKS routes (GET), and the authorization code flow's (GET and POST
/// `/dev/authorize`, POST `/dev/oauth/token`) for `server`'s client, as an identity provider
/// serves them.
pub fn documents(
    issuer: &Arc<DevIssuer>,
    server: &Arc<AuthorizationServer>,
) -> [(&'static str, &'static [Method], BoxEndpoint<'static>); 4] {
    let flow = |endpoint: RouteMethod| endpoint.data(Arc::clone(server)).data(Arc::clone(issuer)).boxed();
    [
        (DISCOVERY_PATH, &[Method::GET], get(discovery).data(Arc::clone(issuer)).boxed()),
        (JWKS_PATH, &[Method::GET], get(jwks).data(Arc::clone(issuer)).boxed()),
        (AUTHORIZE_PATH, &[Method::GET, Method::POST], flow(get(authorize_page).post(authorize_submit))),
        (OAUTH_TOKEN_PATH, &[Method::POST], flow(post(exchange_code))),
    ]
}

#[cfg(test)]
mod tests {
    use poem_openapi::{registry::Registry, types::Type};

    use super::*;

    #[test]
    fn the_checked_bounds_are_the_schema_bounds() {
        let mut registry = Registry::new();
        TokenRequest::register(&mut registry);
        let schema = &registry.schemas["DevTokenRequest"].properties;
        let field = |name: &str| match schema.iter().find(|(field, _)| *field == name).map(|(_, schema)| schema) {
            Some(poem_openapi::registry::MetaSchemaRef::Inline(schema)) => schema.clone(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(field("scope").max_length, Some(TokenRequest::MAX_SCOPE_CHARS));
        assert_eq!(field("sub").max_length, Some(TokenRequest::MAX_SUB_CHARS));
        assert_eq!(field("expires_in").minimum, Some(1.0));
        assert_eq!(field("expires_in").maximum, Some(f64::from(TokenRequest::MAX_EXPIRES_IN)));
    }
}
