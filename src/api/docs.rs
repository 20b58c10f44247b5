//! Swagger UI, with the pasted token kept across reloads, served compressed.

use bytes::Bytes;
use poem::{
    Endpoint, EndpointExt, Response, Route, get, handler,
    middleware::Compression,
    web::{CompressionAlgo, CompressionLevel, Data},
};

/// The Swagger UI page for `html` (from `OpenApiService::swagger_ui_html`) with
/// `persistAuthorization` switched on.
pub fn persisting_authorization(html: &str) -> String {
    let patched = html.replacen("deepLinking: true,", "deepLinking: true,\n        persistAuthorization: true,", 1);
    assert!(patched.len() > html.len(), "the Swagger UI page no longer has `deepLinking: true,`");
    patched
}

/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

/// Where the spec is served as JSON.
pub const SPEC_JSON_PATH: &str = "/openapi.json";

/// Where the spec is served as YAML.
pub const SPEC_YAML_PATH: &str = "/openapi.yaml";

#[derive(Clone)]
struct SwaggerPage(Bytes);

#[handler]
fn swagger_page(Data(page): Data<&SwaggerPage>) -> Response {
    Response::builder().content_type("text/html; charset=utf-8").body(page.0.clone())
}

/// The `/docs` routes for a Swagger UI page built from `html`.
pub fn swagger_ui(html: &str) -> impl Endpoint + use<> {
    let page = SwaggerPage(Bytes::from(persisting_authorization(html)));
    Route::new().at("/", get(swagger_page)).data(page).with(
        Compression::new()
            .algorithms([CompressionAlgo::GZIP, CompressionAlgo::BR])
            .with_quality(CompressionLevel::Fastest),
    )
}
