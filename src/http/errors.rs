//! The answers to requests the operations never see, in the same JSON body as every other
//! failure (`{error, error_description}`): no such path (404), a method the path does not take
//! (405, with `Allow`), a body that is too large (413), of the wrong type (415) or that cannot be
//! parsed (400), and any other error the framework raises.

use std::{collections::BTreeSet, sync::Arc};

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::{MethodNotAllowedError, NotFoundError, ResponseError},
    http::{HeaderValue, Method, StatusCode, header},
};

use super::body_limit::content_too_large;
use crate::auth::ErrorBody;

/// A JSON error answer.
pub fn json_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = ErrorBody { error: code.to_owned(), error_description: description.to_owned() };
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(serde_json::to_vec(&body).unwrap_or_default())
}

/// A JSON error answer written straight to a socket the service is about to close (before or
/// outside hyper): the status line, the JSON body's headers, `extra` header lines, then
/// `connection: close`.
pub fn closing_response(status: StatusCode, extra: &[(&str, &str)], code: &str, description: &str) -> Vec<u8> {
    let body = ErrorBody { error: code.to_owned(), error_description: description.to_owned() };
    let body = serde_json::to_string(&body).unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    format!("{head}connection: close\r\n\r\n{body}").into_bytes()
}

/// The `error` code for a status.
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "content_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        status if status.is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

/// The methods each path takes, for the `Allow` header of a 405.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    /// Path templates (`/items/{id}`) and their methods.
    paths: Vec<(String, BTreeSet<String>)>,
}

impl AllowedMethods {
    /// Records that `path` (a template whose `{…}` segments match any segment) takes `method`;
    /// GET implies HEAD, as poem answers HEAD from GET.
    pub fn add(&mut self, path: &str, method: &Method) {
        let methods = match self.paths.iter_mut().find(|(known, _)| known == path) {
            Some((_, methods)) => methods,
            None => {
                self.paths.push((path.to_owned(), BTreeSet::new()));
                &mut self.paths.last_mut().expect("just pushed").1
            }
        };
        methods.insert(method.as_str().to_owned());
        if method == Method::GET {
            methods.insert(Method::HEAD.as_str().to_owned());
        }
    }

    /// Records the operations of a poem-openapi API.
    pub fn add_operations(&mut self, apis: &[poem_openapi::registry::MetaApi]) {
        for path in apis.iter().flat_map(|api| &api.paths) {
            for operation in &path.operations {
                self.add(&path.path, &operation.method);
            }
        }
    }

    /// The `Allow` value for `path`, e.g. `GET, HEAD`.
    pub fn allow(&self, path: &str) -> Option<String> {
        let (_, methods) = self.paths.iter().find(|(template, _)| matches_template(template, path))?;
        let mut methods: Vec<&str> = methods.iter().map(String::as_str).collect();
        methods.sort_by_key(|method| METHOD_ORDER.iter().position(|known| known == method).unwrap_or(usize::MAX));
        Some(methods.join(", "))
    }
}

/// The order methods are listed in.
const METHOD_ORDER: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn matches_template(template: &str, path: &str) -> bool {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let mut segments = path.split('/');
    template.split('/').all(|expected| {
        segments
            .next()
            .is_some_and(|segment| (expected.starts_with('{') && expected.ends_with('}')) || expected == segment)
    }) && segments.next().is_none()
}

/// Middleware turning every error of the endpoint it wraps into a JSON answer.
#[derive(Debug, Clone)]
pub struct FrameworkErrors {
    allowed: Arc<AllowedMethods>,
}

impl FrameworkErrors {
    /// Answers 405 with the methods in `allowed`.
    pub fn new(allowed: AllowedMethods) -> Self {
        FrameworkErrors { allowed: Arc::new(allowed) }
    }
}

impl<E: Endpoint> Middleware<E> for FrameworkErrors {
    type Output = FrameworkErrorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FrameworkErrorsEndpoint { inner, allowed: Arc::clone(&self.allowed) }
    }
}

/// The endpoint produced by [`FrameworkErrors`].
pub struct FrameworkErrorsEndpoint<E> {
    inner: E,
    allowed: Arc<AllowedMethods>,
}

impl<E: Endpoint> Endpoint for FrameworkErrorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let method = req.method().clone();
        let uri = req.uri().clone();
        let error = match self.inner.call(req).await {
            Ok(response) => return Ok(response.into_response()),
            Err(error) => error,
        };
        if error.is::<NotFoundError>() {
            return Ok(json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "nothing is served at this path; the operations are listed in /openapi.json",
            ));
        }
        if error.is::<MethodNotAllowedError>() {
            let allow = self.allowed.allow(uri.path()).unwrap_or_default();
            let mut response = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!("this path does not take {method}; it takes {allow}"),
            );
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return Ok(response);
        }
        if let Some(too_large) = content_too_large(&error) {
            return Ok(too_large.as_response());
        }
        Ok(render(error))
    }
}

/// Any other error: its own answer when that is JSON already, else its status with a JSON body.
fn render(error: poem::Error) -> Response {
    let status = error.status();
    let description = if status.is_server_error() {
        "the service failed to answer; retry later".to_owned()
    } else {
        error.to_string()
    };
    let response = error.into_response();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let mut answer = json_error(status, code_for(status), &description);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_response_is_json_with_its_extra_headers() {
        let response = closing_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &[("retry-after", "1")],
            "temporarily_unavailable",
            "a \"b\"",
        );
        let response = String::from_utf8(response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            format!(
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close",
                body.len()
            )
        );
        assert_eq!(body, r#"{"error":"temporarily_unavailable","error_description":"a \"b\""}"#);
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_template() {
        let mut allowed = AllowedMethods::default();
        allowed.add("/api/public", &Method::GET);
        allowed.add("/dev/token", &Method::POST);
        allowed.add("/items/{id}", &Method::DELETE);
        allowed.add("/items/{id}", &Method::GET);
        assert_eq!(allowed.allow("/api/public").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed.allow("/api/public/").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed.allow("/dev/token").as_deref(), Some("POST"));
        assert_eq!(allowed.allow("/items/42").as_deref(), Some("GET, HEAD, DELETE"));
        assert_eq!(allowed.allow("/items/42/more"), None);
        assert_eq!(allowed.allow("/nowhere"), None);
    }
}
