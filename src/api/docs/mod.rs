//! Swagger UI at `/docs` and the spec at `/openapi.json`: the page loads its own copy of the
//! served spec from `/docs/openapi.json` (so it shows the login once the login issuer's endpoints
//! are found), without the DPoP scheme, whose proofs Swagger UI cannot sign; it keeps the
//! authorization across reloads when `docs.persist_authorization` says so, and logs in with PKCE
//! when `docs.client_id` is set ([`DocsLogin`]), with no `client_secret` field for the public
//! client; the OAuth receiver page is served beside it.

mod login;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use poem::{
    Endpoint, EndpointExt, Response, Route, get, handler,
    http::HeaderValue,
    middleware::Compression,
    web::{CompressionAlgo, CompressionLevel, Data},
};

pub use login::{DocsLogin, OAUTH_SCHEME};

use crate::http::{content_security_policy, html_page, inline_script_hashes};

/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

/// Where the spec is served as JSON.
pub const SPEC_JSON_PATH: &str = "/openapi.json";

/// Where the spec is served as YAML.
pub const SPEC_YAML_PATH: &str = "/openapi.yaml";

/// Where the OAuth receiver page is, under [`DOCS_PATH`]: the login's redirect URI.
pub const RECEIVER_PATH: &str = "/oauth-receiver.html";

/// Hides the `client_secret` row of Swagger UI's login form.
const NO_CLIENT_SECRET: &str = ".auth-container .wrapper:has(input[data-name=clientSecret]) { display: none; }";

/// The Swagger UI page for `html` (from `OpenApiService::swagger_ui_html`), loading the spec
/// from [`SPEC_JSON_PATH`] rather than a copy made at start-up, with `persistAuthorization` when
/// `persist` and the login when `login` is given.
pub fn page(html: String, persist: bool, login: Option<&DocsLogin>) -> String {
    // Patched in place: the page is 1.6 MB, and copies of it would stay in the peak RSS.
    let mut page = html;
    let mut patch = |from: &str, to: &str| {
        let at = page.find(from).unwrap_or_else(|| panic!("the Swagger UI page no longer has {from:?}"));
        page.replace_range(at..at + from.len(), to);
    };
    // Under /docs, so it holds behind a proxy that adds a path; no badge from a validator on
    // another site, which would be sent the spec's URL.
    patch(
        "spec: spec,",
        "url: location.pathname.replace(/\\/?$/, \"\") + \"/openapi.json\",\n        validatorUrl: null,",
    );
    if persist {
        patch("deepLinking: true,", "deepLinking: true,\n        persistAuthorization: true,");
    }
    if let Some(login) = login {
        // The login client is public (PKCE): it has no secret to type in.
        patch("<div id=\"ui\"></div>", &format!("<style>{NO_CLIENT_SECRET}</style>\n<div id=\"ui\"></div>"));
        patch("SwaggerUIBundle({", "const ui = SwaggerUIBundle({");
        patch("\n    })\n</script>", &format!("\n    }})\n    {}\n</script>", login.init_oauth()));
    }
    page
}

/// A page of the docs and its Content-Security-Policy: its own inline scripts, the service's
/// spec and API, and — once the login issuer's endpoints are found — its token endpoint, where
/// Swagger UI exchanges the login's code.
struct SwaggerPage {
    html: Bytes,
    scripts: String,
    login: Option<Arc<DocsLogin>>,
    policy: HeaderValue,
    policy_with_login: OnceLock<HeaderValue>,
}

impl SwaggerPage {
    fn new(html: Bytes, login: Option<Arc<DocsLogin>>) -> Arc<Self> {
        let scripts = inline_script_hashes(std::str::from_utf8(&html).unwrap_or_default()).join(" ");
        let policy = Self::policy(&scripts, None);
        Arc::new(SwaggerPage { html, scripts, login, policy, policy_with_login: OnceLock::new() })
    }

    fn policy(scripts: &str, token_endpoint: Option<String>) -> HeaderValue {
        let connect = match token_endpoint {
            Some(origin) => format!("connect-src 'self' {origin}"),
            None => "connect-src 'self'".to_owned(),
        };
        content_security_policy(&[
            &format!("script-src {scripts}"),
            "style-src 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src data:",
            &connect,
        ])
    }

    /// The policy now: with the token endpoint's origin once it is known.
    fn current_policy(&self) -> HeaderValue {
        let endpoints = self.login.as_ref().and_then(|login| login.endpoints());
        match endpoints {
            Some(endpoints) => self
                .policy_with_login
                .get_or_init(|| Self::policy(&self.scripts, Some(endpoints.token.origin().ascii_serialization())))
                .clone(),
            None => self.policy.clone(),
        }
    }
}

#[handler]
fn swagger_page(Data(page): Data<&Arc<SwaggerPage>>) -> Response {
    html_page(page.html.clone(), page.current_policy())
}

/// The `/docs` routes: the page built from `html` (see [`page`]), its copy of the spec, and the
/// OAuth receiver page taken from `swagger_ui`, poem-openapi's Swagger UI endpoint.
pub fn swagger_ui(
    html: String,
    persist: bool,
    spec: Arc<ServedSpec>,
    login: Option<Arc<DocsLogin>>,
    swagger_ui: impl Endpoint,
) -> Route {
    let receiver = SwaggerPage::new(receiver_page(swagger_ui), None);
    let page = SwaggerPage::new(Bytes::from(page(html, persist, login.as_deref())), login);
    let compression = || {
        Compression::new()
            .algorithms([CompressionAlgo::GZIP, CompressionAlgo::BR])
            .with_quality(CompressionLevel::Fastest)
    };
    Route::new()
        .at("/", get(swagger_page).data(page).with(compression()))
        .at(RECEIVER_PATH, get(swagger_page).data(receiver))
        .at(SPEC_JSON_PATH, get(serve_spec).data(spec))
}

/// The receiver page that poem-openapi's endpoint serves, read once, so the endpoint — which
/// holds a second copy of the 1.6 MB Swagger UI page — is not kept.
fn receiver_page(swagger_ui: impl Endpoint) -> Bytes {
    use std::{
        future::Future,
        task::{Context, Poll, Waker},
    };
    let request = poem::Request::builder().uri(poem::http::Uri::from_static(RECEIVER_PATH)).finish();
    let call = swagger_ui.get_response(request);
    // A synchronous endpoint: its answer is ready at the first poll.
    let Poll::Ready(response) = std::pin::pin!(call).poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("poem-openapi's receiver page is no longer answered at once");
    };
    let body = response.into_body().into_bytes();
    let Poll::Ready(Ok(bytes)) = std::pin::pin!(body).poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("poem-openapi's receiver page is no longer a body in memory");
    };
    bytes
}

/// The spec as JSON, the login that adds its scheme once the endpoints are known, and the
/// scheme the copy of Swagger UI's page leaves out.
pub struct ServedSpec {
    json: String,
    login: Option<Arc<DocsLogin>>,
    left_out: Option<&'static str>,
}

impl ServedSpec {
    /// Serves `json`, with `login`'s scheme when there is one.
    pub fn new(json: String, login: Option<Arc<DocsLogin>>) -> Self {
        ServedSpec { json, login, left_out: None }
    }

    /// The same spec without the security scheme `scheme`, for a page that cannot use it.
    pub fn without_scheme(&self, scheme: &'static str) -> Self {
        ServedSpec { json: self.json.clone(), login: self.login.clone(), left_out: Some(scheme) }
    }

    /// The spec as served now.
    fn body(&self) -> String {
        let spec = match &self.login {
            Some(login) => login.spec(&self.json),
            None => self.json.as_str().into(),
        };
        match self.left_out {
            Some(scheme) => leave_out(&spec, scheme),
            None => spec.into_owned(),
        }
    }
}

/// `spec` without the security scheme `scheme`: neither in the components nor in any
/// operation's security.
fn leave_out(spec: &str, scheme: &str) -> String {
    let Ok(mut spec) = serde_json::from_str::<serde_json::Value>(spec) else {
        return spec.to_owned();
    };
    if let Some(schemes) = spec.pointer_mut("/components/securitySchemes").and_then(|schemes| schemes.as_object_mut()) {
        schemes.remove(scheme);
    }
    if let Some(paths) = spec.get_mut("paths").and_then(serde_json::Value::as_object_mut) {
        let operations =
            paths.values_mut().filter_map(serde_json::Value::as_object_mut).flat_map(|path| path.values_mut());
        for security in operations.filter_map(|operation| operation.get_mut("security")?.as_array_mut()) {
            security.retain(|requirement| requirement.get(scheme).is_none());
        }
    }
    spec.to_string()
}

/// `GET /openapi.json`.
#[handler]
pub fn serve_spec(Data(spec): Data<&Arc<ServedSpec>>) -> Response {
    Response::builder().content_type("application/json; charset=utf-8").body(spec.body())
}
