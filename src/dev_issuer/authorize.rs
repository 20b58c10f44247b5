//! The development issuer's authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636), for
//! one public client: Swagger UI at this service's `/docs`.
//!
//! - `GET /dev/authorize` checks the client and its exact redirect URI (a bad one is answered
//!   here, never redirected to), then the rest of the request (a bad one is redirected back with
//!   `error`), and shows a sign-in page: a `sub`, the requested scopes as checkboxes, an
//!   organization, and how the user signs in — with a password, or with one of the
//!   authentication contexts the operations need (multi-factor), preselected when the request's
//!   `acr_values` names it;
//! - `POST /dev/authorize` (the page's form) checks everything again and redirects back with a
//!   one-time code, bound to the client, the redirect URI and the S256 code challenge, valid for
//!   [`CODE_LIFETIME`];
//! - `POST /dev/oauth/token` exchanges a code once, with the `code_verifier` whose SHA-256 is the
//!   challenge, for an access token.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use aws_lc_rs::{
    digest::{SHA256, digest},
    rand::{SecureRandom, SystemRandom},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use moka::sync::Cache;
use poem::{
    Request, Response, handler,
    http::{HeaderValue, StatusCode, header},
    web::{Data, Form},
};
use poem_jwt_resource_server::{ErrorBody, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{DevIssuer, SignIn, TokenOrder};
use crate::http::{content_security_policy, html_page};

/// How long a code can be exchanged.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Where the authorization endpoint is served.
pub const AUTHORIZE_PATH: &str = "/dev/authorize";

/// Where codes are exchanged for tokens.
pub const OAUTH_TOKEN_PATH: &str = "/dev/oauth/token";

/// Lifetime of the access tokens the flow issues, in seconds.
const TOKEN_LIFETIME: u32 = 3600;

/// The one client of the flow and the codes it was given.
pub struct AuthorizationServer {
    client_id: String,
    redirect_uri: String,
    acr_values: Vec<String>,
    codes: Cache<String, Arc<Grant>>,
    random: SystemRandom,
}

/// What a code stands for.
#[derive(Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    sub: String,
    scope: String,
    sign_in: SignIn,
    org_id: Option<String>,
    org_name: Option<String>,
    issued: Instant,
}

/// An authorization request, as the query or the sign-in form carries it.
#[derive(Debug, Default)]
pub struct AuthorizationRequest {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// The authentication contexts the client asks for, in preference order.
    acr_values: Option<String>,
    /// From the sign-in form: the subject.
    sub: Option<String>,
    /// From the sign-in form: the authentication context chosen (empty: a password).
    acr: Option<String>,
    /// From the sign-in form: the organization's id and name.
    org_id: Option<String>,
    org_name: Option<String>,
    /// From the sign-in form: every checked scope (`granted` repeats).
    granted: Vec<String>,
}

impl AuthorizationRequest {
    /// The request in a query string or a form body; a parameter given twice is refused by
    /// keeping neither (RFC 6749 §3.1), except the form's repeated `granted`.
    fn parse(encoded: &[u8]) -> Self {
        let mut request = AuthorizationRequest::default();
        let mut seen = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            if name == "granted" {
                request.granted.push(value.into_owned());
                continue;
            }
            *seen.entry(name.clone().into_owned()).or_insert(0) += 1;
            let slot = match name.as_ref() {
                "response_type" => &mut request.response_type,
                "client_id" => &mut request.client_id,
                "redirect_uri" => &mut request.redirect_uri,
                "scope" => &mut request.scope,
                "state" => &mut request.state,
                "code_challenge" => &mut request.code_challenge,
                "code_challenge_method" => &mut request.code_challenge_method,
                "acr_values" => &mut request.acr_values,
                "sub" => &mut request.sub,
                "acr" => &mut request.acr,
                "org_id" => &mut request.org_id,
                "org_name" => &mut request.org_name,
                _ => continue,
            };
            *slot = (seen[name.as_ref()] == 1).then(|| value.into_owned());
        }
        request
    }
}

/// A token request of the authorization code grant.
#[derive(Debug, Default, Deserialize)]
pub struct CodeExchange {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    client_id: Option<String>,
    code_verifier: Option<String>,
}

/// A refusal the endpoint answers itself (RFC 6749 §4.1.2.1, §5.2): a JSON error body.
struct OAuthError {
    status: StatusCode,
    code: ErrorCode,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, code: ErrorCode, description: &str) -> Self {
        OAuthError { status, code, description: description.to_owned() }
    }

    fn response(&self) -> Response {
        json_response(self.status, &ErrorBody::new(self.code, self.description.clone()))
    }
}

/// Why an authorization request fails after its client and redirect URI are known to be good:
/// sent back to the redirect URI.
struct Redirected {
    error: &'static str,
    description: String,
}

impl AuthorizationServer {
    /// The flow for `client_id`, whose only redirect URI is `redirect_uri`, signing users in
    /// with a password or one of `acr_values`.
    pub fn new(client_id: String, redirect_uri: String, acr_values: Vec<String>) -> Self {
        let codes = Cache::builder().time_to_live(CODE_LIFETIME).max_capacity(10_000).build();
        AuthorizationServer { client_id, redirect_uri, acr_values, codes, random: SystemRandom::new() }
    }

    /// The client id Swagger UI logs in with.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Checks the client and its redirect URI: when either is wrong the user is told here.
    fn check_client(&self, request: &AuthorizationRequest) -> Result<String, OAuthError> {
        match request.client_id.as_deref() {
            Some(client_id) if client_id == self.client_id => {}
            Some(_) => {
                return Err(OAuthError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidClient, "unknown client_id"));
            }
            None => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidRequest,
                    "client_id is missing",
                ));
            }
        }
        match request.redirect_uri.as_deref() {
            Some(uri) if uri == self.redirect_uri => Ok(uri.to_owned()),
            _ => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                &format!("redirect_uri must be exactly {}", self.redirect_uri),
            )),
        }
    }

    /// Checks the rest of an authorization request; returns its PKCE challenge.
    fn check_request(request: &AuthorizationRequest) -> Result<String, Redirected> {
        if request.response_type.as_deref() != Some("code") {
            return Err(Redirected {
                error: "unsupported_response_type",
                description: "response_type must be code".into(),
            });
        }
        let invalid = |description: &str| Redirected { error: "invalid_request", description: description.into() };
        let challenge = request.code_challenge.as_deref().ok_or_else(|| invalid("code_challenge is missing (PKCE)"))?;
        if request.code_challenge_method.as_deref() != Some("S256") {
            return Err(invalid("code_challenge_method must be S256 (plain is not accepted)"));
        }
        let valid = challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|hash| hash.len() == 32);
        if !valid {
            return Err(invalid("code_challenge must be the base64url SHA-256 of the code verifier"));
        }
        Ok(challenge.to_owned())
    }

    /// A new one-time code for `grant`.
    fn issue(&self, grant: Grant) -> String {
        let mut bytes = [0_u8; 32];
        self.random.fill(&mut bytes).expect("the system's random source");
        let code = URL_SAFE_NO_PAD.encode(bytes);
        self.codes.insert(code.clone(), Arc::new(grant));
        code
    }

    /// The grant a code stands for, taken once.
    fn exchange(&self, exchange: &CodeExchange) -> Result<Arc<Grant>, OAuthError> {
        self.exchange_at(exchange, Instant::now())
    }

    /// The grant a code stands for, taken once, at the time `now`.
    fn exchange_at(&self, exchange: &CodeExchange, now: Instant) -> Result<Arc<Grant>, OAuthError> {
        let invalid_request =
            |description: &str| OAuthError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, description);
        if exchange.grant_type.as_deref() != Some("authorization_code") {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code",
            ));
        }
        let code = exchange.code.as_deref().ok_or_else(|| invalid_request("code is missing"))?;
        let verifier = exchange.code_verifier.as_deref().ok_or_else(|| invalid_request("code_verifier is missing"))?;
        if exchange.client_id.as_deref() != Some(self.client_id.as_str()) {
            return Err(OAuthError::new(StatusCode::UNAUTHORIZED, ErrorCode::InvalidClient, "unknown client_id"));
        }
        let invalid_grant =
            |description: &str| OAuthError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant, description);
        // Taken whatever happens next: a code is tried once. The cache may still hold an expired
        // one that its maintenance has not removed yet.
        let grant = self
            .codes
            .remove(code)
            .filter(|grant| now.saturating_duration_since(grant.issued) < CODE_LIFETIME)
            .ok_or_else(|| invalid_grant("the code is unknown, expired or used"))?;
        if grant.client_id != self.client_id || exchange.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
            return Err(invalid_grant("the code was issued to another client or redirect_uri"));
        }
        if !(43..=128).contains(&verifier.len()) {
            return Err(invalid_grant("code_verifier must have 43 to 128 characters"));
        }
        if URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes())) != grant.code_challenge {
            return Err(invalid_grant("code_verifier does not match the code_challenge"));
        }
        Ok(grant)
    }
}

/// `GET /dev/authorize`: the sign-in page.
#[handler]
pub fn authorize_page(req: &Request, Data(server): Data<&Arc<AuthorizationServer>>) -> Response {
    let request = AuthorizationRequest::parse(req.uri().query().unwrap_or_default().as_bytes());
    let redirect_uri = match server.check_client(&request) {
        Ok(uri) => uri,
        Err(refused) => return refused.response(),
    };
    if let Err(error) = AuthorizationServer::check_request(&request) {
        return redirect_with_error(&redirect_uri, &error, request.state.as_deref());
    }
    sign_in_page(&request, &redirect_uri, &server.acr_values)
}

/// `POST /dev/authorize`: the signed-in user's answer (a form body).
#[handler]
pub fn authorize_submit(
    body: Bytes,
    Data(server): Data<&Arc<AuthorizationServer>>,
    Data(issuer): Data<&Arc<DevIssuer>>,
) -> Response {
    let request = AuthorizationRequest::parse(&body);
    let redirect_uri = match server.check_client(&request) {
        Ok(uri) => uri,
        Err(refused) => return refused.response(),
    };
    let code_challenge = match AuthorizationServer::check_request(&request) {
        Ok(challenge) => challenge,
        Err(error) => return redirect_with_error(&redirect_uri, &error, request.state.as_deref()),
    };
    let sub = request.sub.as_deref().map(str::trim).filter(|sub| !sub.is_empty()).unwrap_or("dev-user");
    let requested: Vec<&str> = request.scope.as_deref().unwrap_or_default().split_ascii_whitespace().collect();
    let scope: Vec<&str> = request.granted.iter().map(String::as_str).filter(|s| requested.contains(s)).collect();
    let acr = request.acr.as_deref().filter(|acr| server.acr_values.iter().any(|known| known == acr));
    let mut amr = vec!["pwd".to_owned()];
    if acr.is_some() {
        amr.push("mfa".to_owned());
    }
    let sign_in = SignIn { acr: acr.map(str::to_owned), amr, auth_time: Some(issuer.now()) };
    let field = |value: &Option<String>| -> Option<String> {
        value.as_deref().map(str::trim).filter(|value| !value.is_empty()).map(|value| value.chars().take(64).collect())
    };
    let grant = Grant {
        client_id: server.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        code_challenge,
        sub: sub.chars().take(255).collect(),
        scope: scope.join(" "),
        sign_in,
        org_id: field(&request.org_id),
        org_name: field(&request.org_name),
        issued: Instant::now(),
    };
    let code = server.issue(grant);
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = request.state.as_deref() {
        params.push(("state", state));
    }
    redirect(&redirect_uri, &params)
}

/// `POST /dev/oauth/token`: a code for an access token.
#[handler]
pub fn exchange_code(
    Form(exchange): Form<CodeExchange>,
    Data(server): Data<&Arc<AuthorizationServer>>,
    Data(issuer): Data<&Arc<DevIssuer>>,
) -> Response {
    let grant = match server.exchange(&exchange) {
        Ok(grant) => grant,
        Err(refused) => return refused.response(),
    };
    let order = TokenOrder {
        sub: grant.sub.clone(),
        scope: grant.scope.clone(),
        expires_in: TOKEN_LIFETIME,
        jkt: None,
        sign_in: grant.sign_in.clone(),
        org_id: grant.org_id.clone(),
        org_name: grant.org_name.clone(),
    };
    match issuer.mint(&order) {
        Ok(access_token) => json_response(
            StatusCode::OK,
            &json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME,
                "scope": grant.scope,
            }),
        ),
        Err(error) => {
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, &error.to_string()).response()
        }
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(serde_json::to_vec(body).unwrap_or_default())
}

fn redirect_with_error(redirect_uri: &str, error: &Redirected, state: Option<&str>) -> Response {
    let mut params = vec![("error", error.error), ("error_description", error.description.as_str())];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect(redirect_uri, &params)
}

/// 302 to `uri` with `params` added to its query.
fn redirect(uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(uri) else {
        let refused = "the redirect_uri is not a URL";
        return OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, refused).response();
    };
    url.query_pairs_mut().extend_pairs(params);
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, url.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

/// The sign-in page for `request`: its parameters in hidden fields, a `sub`, the scopes, an
/// organization, and how the user signs in (a password, or one of `acr_values`). Its form may be
/// sent only here and then redirect only to `redirect_uri`'s origin.
fn sign_in_page(request: &AuthorizationRequest, redirect_uri: &str, acr_values: &[String]) -> Response {
    let mut hidden = String::new();
    let fields = [
        ("response_type", request.response_type.as_ref()),
        ("client_id", request.client_id.as_ref()),
        ("redirect_uri", request.redirect_uri.as_ref()),
        ("scope", request.scope.as_ref()),
        ("state", request.state.as_ref()),
        ("code_challenge", request.code_challenge.as_ref()),
        ("code_challenge_method", request.code_challenge_method.as_ref()),
        ("acr_values", request.acr_values.as_ref()),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            hidden.push_str(&format!(r#"<input type="hidden" name="{name}" value="{}">"#, escape(value)));
        }
    }
    let mut scopes = String::new();
    for scope in request.scope.as_deref().unwrap_or_default().split_ascii_whitespace() {
        let scope = escape(scope);
        scopes.push_str(&format!(
            r#"<label><input type="checkbox" name="granted" value="{scope}" checked> {scope}</label><br>"#
        ));
    }
    if scopes.is_empty() {
        scopes.push_str("<p>No scopes were requested.</p>");
    }
    let asked: Vec<&str> = request.acr_values.as_deref().unwrap_or_default().split_ascii_whitespace().collect();
    let preselected = acr_values.iter().find(|acr| asked.contains(&acr.as_str()));
    let checked = |yes: bool| if yes { " checked" } else { "" };
    let mut methods = format!(
        r#"<label><input type="radio" name="acr" value=""{}> with a password</label><br>"#,
        checked(preselected.is_none())
    );
    for acr in acr_values {
        methods.push_str(&format!(
            r#"<label><input type="radio" name="acr" value="{}"{}> with multi-factor authentication (acr {})</label><br>"#,
            escape(acr),
            checked(preselected == Some(acr)),
            escape(acr)
        ));
    }
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — development issuer</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto}}label{{line-height:2}}</style></head>
<body><h1>Sign in</h1>
<p>The development issuer of protected-api signs in anyone: choose the subject, the scopes, how you signed in and the organization of the token.</p>
<form method="post" action="{AUTHORIZE_PATH}">{hidden}
<p><label>sub <input name="sub" value="dev-user" maxlength="255"></label></p>
<fieldset><legend>Scopes</legend>{scopes}</fieldset>
<fieldset><legend>Sign in</legend>{methods}</fieldset>
<fieldset><legend>Organization (optional)</legend>
<label>org_id <input name="org_id" maxlength="64"></label><br>
<label>org_name <input name="org_name" maxlength="64"></label></fieldset>
<p><button type="submit">Sign in</button></p>
</form></body></html>"#
    );
    let redirect_origin = Url::parse(redirect_uri).map(|url| url.origin().ascii_serialization()).unwrap_or_default();
    let policy =
        content_security_policy(&["style-src 'unsafe-inline'", &format!("form-action 'self' {redirect_origin}")]);
    let mut response = html_page(page, policy);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Text safe inside an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_expires_after_its_lifetime() {
        let server = AuthorizationServer::new("c".into(), "r".into(), Vec::new());
        let verifier = "v".repeat(43);
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
        let issued = Instant::now();
        let grant = |challenge: &str| Grant {
            client_id: "c".into(),
            redirect_uri: "r".into(),
            code_challenge: challenge.to_owned(),
            sub: "s".into(),
            scope: String::new(),
            sign_in: SignIn::default(),
            org_id: None,
            org_name: None,
            issued,
        };
        let exchange = |code: String| CodeExchange {
            grant_type: Some("authorization_code".into()),
            code: Some(code),
            redirect_uri: Some("r".into()),
            client_id: Some("c".into()),
            code_verifier: Some(verifier.clone()),
        };
        let last_moment = issued + CODE_LIFETIME - Duration::from_millis(1);
        let fresh = server.issue(grant(&challenge));
        assert!(server.exchange_at(&exchange(fresh), last_moment).is_ok());
        let stale = server.issue(grant(&challenge));
        let refused = server.exchange_at(&exchange(stale), issued + CODE_LIFETIME).expect_err("expired");
        assert_eq!(
            (refused.code, refused.description.as_str()),
            (ErrorCode::InvalidGrant, "the code is unknown, expired or used")
        );
    }
}
