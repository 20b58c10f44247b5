//! The answers to requests the operations never see, in the same JSON body as every other
//! failure (`{error, error_description}`): no such path (404), a method the path does not take
//! (405, with `Allow`), a body that is too large (413), that did not arrive in time (408), of the
//! wrong type (415) or that cannot be parsed (400), and any other error the framework raises.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    error::{MethodNotAllowedError, NotFoundError, ResponseError},
    http::{HeaderValue, StatusCode, header},
};

use super::{
    body_limit::{body_read_cause, content_too_large},
    connection::BodyTimedOut,
    route_table::RouteTable,
};
use poem_jwt_resource_server::{ErrorBody, ErrorCode};

/// A JSON error answer.
pub fn json_error(status: StatusCode, code: ErrorCode, description: &str) -> Response {
    let body = ErrorBody::new(code, description);
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(serde_json::to_vec(&body).unwrap_or_default())
}

/// A JSON error answer written straight to a socket the service is about to close (before or
/// outside hyper): the status line, the JSON body's headers, `extra` header lines, then
/// `connection: close`.
pub fn closing_response(status: StatusCode, extra: &[(&str, &str)], code: ErrorCode, description: &str) -> Vec<u8> {
    let body = ErrorBody::new(code, description);
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
pub fn code_for(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::BAD_REQUEST => ErrorCode::InvalidRequest,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::NOT_ACCEPTABLE => ErrorCode::NotAcceptable,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::LENGTH_REQUIRED => ErrorCode::LengthRequired,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::ContentTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::TemporarilyUnavailable,
        status if status.is_server_error() => ErrorCode::ServerError,
        _ => ErrorCode::InvalidRequest,
    }
}

/// Middleware turning every error of the endpoint it wraps into a JSON answer.
#[derive(Debug, Clone)]
pub struct FrameworkErrors {
    allowed: Arc<RouteTable>,
}

impl FrameworkErrors {
    /// Answers 405 with the methods the path takes in `routes`.
    pub fn new(routes: Arc<RouteTable>) -> Self {
        FrameworkErrors { allowed: routes }
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
    allowed: Arc<RouteTable>,
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
                ErrorCode::NotFound,
                "nothing is served at this path; the operations are listed in /openapi.json",
            ));
        }
        if error.is::<MethodNotAllowedError>() {
            let allow = self.allowed.allow(uri.path()).unwrap_or_default();
            let mut response = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
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
        if let Some(timed_out) = body_read_cause::<BodyTimedOut>(&error) {
            return Ok(json_error(StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout, &timed_out.to_string()));
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
            ErrorCode::TemporarilyUnavailable,
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
}
