//! Cross-origin calls from browsers (CORS) for exactly the configured origins:
//!
//! - a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin, for an
//!   allowed method and allowed headers, gets 204 with what is allowed; any other preflight is
//!   refused with 403 — the request a browser stops on;
//! - any other request from an allowed origin is answered with `Access-Control-Allow-Origin` and
//!   the headers a script may read;
//! - every other request is answered as if CORS were off: the browser enforces CORS, and a
//!   client that is not a browser may send any `Origin` it likes;
//! - every answer carries `Vary: Origin`, since it depends on it, so no cache serves one origin's
//!   answer to another.

use std::sync::Arc;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};

use super::errors::json_error;
use poem_jwt_resource_server::ErrorCode;

/// The CORS policy.
#[derive(Debug, Clone)]
pub struct Cors {
    policy: Arc<Policy>,
}

#[derive(Debug)]
struct Policy {
    origins: Vec<HeaderValue>,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: HeaderValue,
}

impl Cors {
    /// Lets browser scripts of `origins` call `methods` sending `headers`, and read
    /// `exposed`; browsers keep a preflight's answer for `max_age_seconds`.
    pub fn new(
        origins: impl IntoIterator<Item = HeaderValue>,
        methods: &[Method],
        headers: &[HeaderName],
        exposed: &[HeaderName],
        max_age_seconds: u32,
    ) -> Self {
        let list = |names: Vec<&str>| HeaderValue::from_str(&names.join(", ")).expect("token names");
        let policy = Policy {
            origins: origins.into_iter().collect(),
            methods: methods.to_vec(),
            headers: headers.to_vec(),
            allow_methods: list(methods.iter().map(Method::as_str).collect()),
            allow_headers: list(headers.iter().map(HeaderName::as_str).collect()),
            expose_headers: list(exposed.iter().map(HeaderName::as_str).collect()),
            max_age: HeaderValue::from(max_age_seconds),
        };
        Cors { policy: Arc::new(policy) }
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CorsEndpoint { inner, policy: Arc::clone(&self.policy) }
    }
}

/// The endpoint produced by [`Cors`].
pub struct CorsEndpoint<E> {
    inner: E,
    policy: Arc<Policy>,
}

impl Policy {
    /// The answer to a preflight from `origin`: allowed or refused.
    fn preflight(&self, req: &Request, origin: Option<&HeaderValue>) -> Response {
        let method = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|value| value.to_str().ok());
        let headers = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).and_then(|value| value.to_str().ok());
        let refusal = if origin.is_none() {
            Some("this origin may not call the API from a browser (cors.allowed_origins)".to_owned())
        } else if !method.is_some_and(|method| self.methods.iter().any(|allowed| allowed.as_str() == method)) {
            Some(format!("a browser may call this API with {} only", self.allow_methods.to_str().unwrap_or_default()))
        } else {
            headers.unwrap_or_default().split(',').map(str::trim).filter(|name| !name.is_empty()).find_map(|name| {
                let allowed = self.headers.iter().any(|allowed| allowed.as_str().eq_ignore_ascii_case(name));
                (!allowed).then(|| {
                    format!(
                        "a browser may send only these headers: {}",
                        self.allow_headers.to_str().unwrap_or_default()
                    )
                })
            })
        };
        let mut response = match (refusal, origin) {
            (None, Some(origin)) => {
                let mut response = Response::builder().status(StatusCode::NO_CONTENT).finish();
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.clone());
                headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
                response
            }
            (refusal, _) => json_error(StatusCode::FORBIDDEN, ErrorCode::InvalidRequest, &refusal.unwrap_or_default()),
        };
        response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
        response
    }
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let policy = &*self.policy;
        let origin = req.headers().get(header::ORIGIN).filter(|origin| policy.origins.contains(origin)).cloned();
        if req.method() == Method::OPTIONS
            && req.headers().contains_key(header::ORIGIN)
            && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Ok(policy.preflight(&req, origin.as_ref()));
        }
        let mut response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(origin) = origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, policy.expose_headers.clone());
        }
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        Ok(response)
    }
}
