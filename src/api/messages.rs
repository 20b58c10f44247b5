//! The message routes: one operation for each way a route can be protected — not at all, by an
//! optional token, by a token, by a token with a scope, by a token of the organization the path
//! names, by a token of a recent multi-factor sign-in.

use jwt_resource_server::{AcrValues, PathOrganization, Scope, ScopeName, StepUp, acr, scope};
use poem_jwt_resource_server::{AccessToken, OptionalAccessToken, TokenClaims};
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path};
use serde::Serialize;

use super::{ApiTags, payload::SerdeJson};

scope!(
    /// Needed by `GET /api/private-scoped`.
    pub ReadMessages = "read:messages"
);

acr!(
    /// Multi-factor authentication, as Auth0 names it: needed by `GET /api/private-mfa`.
    pub MultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
);

/// How recent the multi-factor sign-in of `GET /api/private-mfa` must be, in seconds.
pub const MFA_MAX_AGE: u64 = 600;

/// A message for anyone.
#[derive(Debug, Clone, Object, Serialize)]
pub struct Message {
    /// The message.
    pub message: String,
}

/// A message for the holder of a valid access token, with the token's claims in `data`.
#[derive(Debug, Clone, Object, Serialize)]
pub struct AccessGranted {
    /// The message.
    pub message: String,
    // No doc comment: one would wrap the `Claims` reference in `allOf`, and generators would
    // then emit a second, anonymous claims model.
    pub data: TokenClaims,
}

/// The answer of `GET /api/public`.
#[derive(ApiResponse)]
pub enum PublicResponse {
    /// A greeting.
    #[oai(status = 200)]
    Ok(SerdeJson<Message>),
}

/// The answer of `GET /api/greeting`.
#[derive(ApiResponse)]
pub enum GreetingResponse {
    /// A greeting: by the token's subject when a valid token was sent.
    #[oai(status = 200)]
    Ok(SerdeJson<Message>),
}

/// The answer of the protected routes.
#[derive(ApiResponse)]
pub enum PrivateResponse {
    /// The token was accepted; its claims are echoed in `data`.
    #[oai(status = 200)]
    Ok(SerdeJson<AccessGranted>),
}

impl PrivateResponse {
    fn granted<R>(message: impl Into<String>, token: &AccessToken<R>) -> Self {
        PrivateResponse::Ok(SerdeJson(AccessGranted { message: message.into(), data: token.claims().clone().into() }))
    }
}

/// `/api/public`, `/api/private` and `/api/private-scoped`.
#[derive(Clone)]
pub struct MessagesApi;

#[OpenApi(tag = "ApiTags::Messages")]
impl MessagesApi {
    /// Say hello to anyone
    ///
    /// Needs no token.
    #[oai(path = "/api/public", method = "get", operation_id = "getPublic")]
    async fn public(&self) -> PublicResponse {
        PublicResponse::Ok(SerdeJson(Message { message: "Hello, World!".to_owned() }))
    }

    /// Greet anyone, by name when signed in
    ///
    /// Needs no token, but checks one that is sent: "Hello, stranger" without an `Authorization`
    /// header, "Hello, <sub>" with a valid access token (bearer or DPoP-bound), and 401 for a
    /// refused one, as on the protected routes.
    #[oai(path = "/api/greeting", method = "get", operation_id = "getGreeting")]
    async fn greeting(&self, token: OptionalAccessToken) -> GreetingResponse {
        let name = match token.claims() {
            Some(claims) => claims.sub().unwrap_or("signed-in caller"),
            None => "stranger",
        };
        GreetingResponse::Ok(SerdeJson(Message { message: format!("Hello, {name}") }))
    }

    /// Greet the holder of a valid access token
    ///
    /// Needs a valid access token for this API, as a bearer token or DPoP-bound with its proof;
    /// answers with its claims.
    #[oai(path = "/api/private", method = "get", operation_id = "getPrivate")]
    async fn private(&self, token: AccessToken) -> PrivateResponse {
        PrivateResponse::granted("Access granted", &token)
    }

    /// Greet the holder of an access token with the scope read:messages
    ///
    /// Needs a valid access token that grants `read:messages`, in its `scope` claim or in its
    /// `permissions` (Auth0 RBAC); answers with its claims.
    #[oai(path = "/api/private-scoped", method = "get", operation_id = "getPrivateScoped")]
    async fn private_scoped(&self, token: AccessToken<Scope<ReadMessages>>) -> PrivateResponse {
        PrivateResponse::granted(format!("Access granted: {}", ReadMessages::SCOPE), &token)
    }

    /// Greet a member of the organization in the path
    ///
    /// Needs a valid access token issued in the context of the Auth0 Organization `org_id` names:
    /// its `org_id` claim must be that id (403 `organization_required` without one, 403
    /// `organization_mismatch` for another organization, or one not in `auth0.organizations` when
    /// that lists any, or an `org_name` that is not the listed name); answers with its claims.
    #[oai(path = "/api/orgs/:org_id/messages", method = "get", operation_id = "getOrganizationMessages")]
    async fn organization_messages(
        &self,
        /// The organization's id, as Auth0 writes it (`org_…`).
        org_id: Path<String>,
        token: AccessToken<PathOrganization>,
    ) -> PrivateResponse {
        PrivateResponse::granted(format!("Access granted: messages of {}", org_id.0), &token)
    }

    /// Greet the holder of a token of a recent multi-factor sign-in
    ///
    /// Needs a valid access token of a user who signed in with multi-factor authentication (`acr`
    /// `http://schemas.openid.net/pape/policies/2007/06/multi-factor`, or a claim configured in
    /// `auth0.acr_claims` that stands for it) at most 10 minutes ago (`auth_time`, or the claim
    /// of `auth0.auth_time_claim`). Otherwise 401 `insufficient_user_authentication` (RFC 9470),
    /// the challenge naming `acr_values` and `max_age` to sign in again with; answers with its claims.
    #[oai(path = "/api/private-mfa", method = "get", operation_id = "getPrivateMfa")]
    async fn private_mfa(&self, token: AccessToken<StepUp<MultiFactor, MFA_MAX_AGE>>) -> PrivateResponse {
        PrivateResponse::granted(format!("Access granted: signed in with {}", MultiFactor::JOINED), &token)
    }
}
