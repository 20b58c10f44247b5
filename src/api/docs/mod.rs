//! Swagger UI at `/docs` and the spec at `/openapi.json`: the page loads the served spec (so it
//! shows the login once the login issuer's endpoints are found), keeps the authorization across
//! reloads when `docs.persist_authorization` says so, and logs in with PKCE when `docs.client_id`
//! is set ([`DocsLogin`]); the OAuth receiver page is served beside it.

mod login;

use std::sync::Arc;

use bytes::Bytes;
use poem::{
    Endpoint, EndpointExt, Response, Route, get, handler,
    middleware::Compression,
    web::{CompressionAlgo, CompressionLevel, Data},
};

pub use login::{DocsLogin, OAUTH_SCHEME};

/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

/// Where the spec is served as JSON.
pub const SPEC_JSON_PATH: &str = "/openapi.json";

/// Where the spec is served as YAML.
pub const SPEC_YAML_PATH: &str = "/openapi.yaml";

/// Where the OAuth receiver page is, under [`DOCS_PATH`]: the login's redirect URI.
pub const RECEIVER_PATH: &str = "/oauth-receiver.html";

/// The Swagger UI page for `html` (from `OpenApiService::swagger_ui_html`), loading the spec
/// from [`SPEC_JSON_PATH`] rather than a copy made at start-up, with `persistAuthorization` when
/// `persist` and the login when `login` is given.
pub fn page(html: &str, persist: bool, login: Option<&DocsLogin>) -> String {
    let mut page = html.to_owned();
    let mut patch = |from: &str, to: &str| {
        assert!(page.contains(from), "the Swagger UI page no longer has {from:?}");
        page = page.replacen(from, to, 1);
    };
    // Beside /docs, so it holds behind a proxy that adds a path.
    patch("spec: spec,", "url: location.pathname.replace(/\\/docs\\/?$/, \"\") + \"/openapi.json\",");
    if persist {
        patch("deepLinking: true,", "deepLinking: true,\n        persistAuthorization: true,");
    }
    if let Some(login) = login {
        patch("SwaggerUIBundle({", "const ui = SwaggerUIBundle({");
        patch("\n    })\n</script>", &format!("\n    }})\n    {}\n</script>", login.init_oauth()));
    }
    page
}

#[derive(Clone)]
struct SwaggerPage(Bytes);

#[handler]
fn swagger_page(Data(page): Data<&SwaggerPage>) -> Response {
    Response::builder().content_type("text/html; charset=utf-8").body(page.0.clone())
}

/// The `/docs` routes: the page built from `html` (see [`page`]), and `receiver`, poem-openapi's
/// OAuth receiver page.
pub fn swagger_ui(html: &str, persist: bool, login: Option<&DocsLogin>, receiver: impl Endpoint + 'static) -> Route {
    let page = SwaggerPage(Bytes::from(page(html, persist, login)));
    let compression = || {
        Compression::new()
            .algorithms([CompressionAlgo::GZIP, CompressionAlgo::BR])
            .with_quality(CompressionLevel::Fastest)
    };
    Route::new().at("/", get(swagger_page).data(page).with(compression())).at(RECEIVER_PATH, receiver)
}

/// The spec as JSON, and the login that adds its scheme once the endpoints are known.
pub struct ServedSpec {
    json: String,
    login: Option<Arc<DocsLogin>>,
}

impl ServedSpec {
    /// Serves `json`, with `login`'s scheme when there is one.
    pub fn new(json: String, login: Option<Arc<DocsLogin>>) -> Self {
        ServedSpec { json, login }
    }
}

/// `GET /openapi.json`.
#[handler]
pub fn serve_spec(Data(spec): Data<&Arc<ServedSpec>>) -> Response {
    let body = match &spec.login {
        Some(login) => login.spec(&spec.json).into_owned(),
        None => spec.json.clone(),
    };
    Response::builder().content_type("application/json; charset=utf-8").body(body)
}
