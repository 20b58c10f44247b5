//! The first router a request meets. A request for an operation at a path without parameters
//! (every operation of the service but one) is matched by comparing its path with each such path,
//! and goes to the operation's endpoint with no router in between; any other request goes to
//! poem's router, which holds the operations with path parameters and the routes beside the
//! operations — the spec, Swagger UI, the metadata, the development issuer, `/metrics` — and
//! answers 404 for a path nobody serves.
//!
//! This stands in for poem-openapi's own endpoint (`OpenApiService::into_endpoint`), which put a
//! router, three boxed layers and the parsing of the query string in front of every operation.
//! Here the query string is parsed only for the operations that read it, as poem-openapi's
//! extractors expect: into a `UrlQuery` in the request's extensions.

use std::collections::{HashMap, HashSet};

use poem::{
    Endpoint, EndpointExt, Request, Response, Result, Route, RouteMethod, endpoint::BoxEndpoint,
    error::MethodNotAllowedError, http::Method,
};
// `UrlQuery` is where poem-openapi's query extractors look; it is public but not documented, so an
// upgrade that moves it fails to build here, and the unit test below fails if it stops being read.
use poem_openapi::{
    __private::UrlQuery,
    OpenApi,
    registry::{MetaApi, MetaParamIn, Registry},
};

/// The operations of a poem-openapi API, by path and method, ready to be routed.
pub struct Operations {
    /// By path in poem's syntax (`/items/:param0`), as poem-openapi's generated code gives them.
    routes: HashMap<String, HashMap<Method, BoxEndpoint<'static>>>,
    /// The paths of the operations that read the query string (a query parameter, or a security
    /// scheme with an API key in the query), as the spec writes them: the same as poem's for a path
    /// without parameters, the only ones looked up here.
    reading_the_query: HashSet<String>,
}

impl Operations {
    /// The operations of `api`.
    ///
    /// # Panics
    ///
    /// When two operations have the same `operationId`, as poem-openapi's own endpoint does.
    pub fn of<T: OpenApi>(api: T) -> Self {
        let apis = T::meta();
        let mut ids = HashSet::new();
        for operation in apis.iter().flat_map(|api| &api.paths).flat_map(|path| &path.operations) {
            if let Some(id) = operation.operation_id
                && !ids.insert(id)
            {
                panic!("duplicate operation id: {id}");
            }
        }
        let mut registry = Registry::new();
        T::register(&mut registry);
        let mut routes = HashMap::new();
        api.add_routes(&mut routes);
        Operations { routes, reading_the_query: paths_reading_the_query(&apis, &registry) }
    }
}

/// The spec paths of the operations of `apis` that read the query string.
fn paths_reading_the_query(apis: &[MetaApi], registry: &Registry) -> HashSet<String> {
    let in_query: HashSet<&str> = registry
        .security_schemes
        .iter()
        .filter(|(_, scheme)| scheme.key_in == Some("query"))
        .map(|(name, _)| *name)
        .collect();
    let mut paths = HashSet::new();
    for path in apis.iter().flat_map(|api| &api.paths) {
        let reads = path.operations.iter().any(|operation| {
            operation.params.iter().any(|param| param.in_type == MetaParamIn::Query)
                || operation.security.iter().flat_map(|names| names.keys()).any(|name| in_query.contains(name))
        });
        if reads {
            paths.insert(path.path.clone());
        }
    }
    paths
}

/// Sends a request to the operation at its path and for its method, else to the other routes.
pub struct Dispatch {
    /// The operations at paths without parameters.
    literal: Vec<LiteralPath>,
    /// The routes beside the operations, and the operations at paths with parameters.
    others: Route,
}

struct LiteralPath {
    path: Box<str>,
    methods: Vec<(Method, BoxEndpoint<'static>)>,
    reads_query: bool,
}

impl LiteralPath {
    /// Calls the operation of `req`'s method; a `HEAD` without its own is answered as the `GET`
    /// it is, without a body; any other method gets 405 — as poem's `RouteMethod` answers.
    async fn call(&self, mut req: Request) -> Result<Response> {
        let operation = |method: &Method| self.methods.iter().find(|(known, _)| known == method).map(|(_, ep)| ep);
        if let Some(endpoint) = operation(req.method()) {
            return endpoint.call(req).await;
        }
        match operation(&Method::GET).filter(|_| req.method() == Method::HEAD) {
            Some(endpoint) => {
                req.set_method(Method::GET);
                let mut response = endpoint.call(req).await?;
                response.set_body(());
                Ok(response)
            }
            None => Err(MethodNotAllowedError.into()),
        }
    }
}

impl Dispatch {
    /// Routes `operations`, and every other path to `others`.
    pub fn new(operations: Operations, mut others: Route) -> Self {
        let Operations { routes, reading_the_query } = operations;
        let mut literal = Vec::new();
        for (path, methods) in routes {
            let has_parameters = path.split('/').any(|segment| segment.starts_with([':', '*']));
            if has_parameters {
                // Rare, and matched by poem's router: the query is parsed as poem-openapi does.
                let methods =
                    methods.into_iter().fold(RouteMethod::new(), |route, (method, ep)| route.method(method, ep));
                others = others.at(path, methods.before(|req| async move { Ok(with_query(req)) }));
            } else {
                let methods = methods.into_iter().collect();
                let reads_query = reading_the_query.contains(&path);
                literal.push(LiteralPath { path: path.into(), methods, reads_query });
            }
        }
        Dispatch { literal, others }
    }
}

/// `req`, its query string parsed for poem-openapi's query extractors.
fn with_query(mut req: Request) -> Request {
    let query: Vec<(String, String)> = req.params().unwrap_or_default();
    req.extensions_mut().insert(UrlQuery(query));
    req
}

impl Endpoint for Dispatch {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path();
        match self.literal.iter().find(|literal| *literal.path == *path) {
            Some(literal) if literal.reads_query => literal.call(with_query(req)).await,
            Some(literal) => literal.call(req).await,
            None => self.others.call(req).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;
    use poem_openapi::{
        param::{Path, Query},
        payload::PlainText,
    };

    use super::*;

    #[derive(Clone)]
    struct Api;

    #[poem_openapi::OpenApi]
    impl Api {
        #[oai(path = "/plain", method = "get")]
        async fn plain(&self) -> PlainText<&'static str> {
            PlainText("plain")
        }

        #[oai(path = "/echo", method = "get")]
        async fn echo(&self, word: Query<Option<String>>) -> PlainText<String> {
            PlainText(word.0.unwrap_or_else(|| "none".to_owned()))
        }

        #[oai(path = "/items/:id", method = "get")]
        async fn item(&self, id: Path<u32>, word: Query<Option<String>>) -> PlainText<String> {
            PlainText(format!("{} {}", id.0, word.0.unwrap_or_default()))
        }
    }

    async fn answer(dispatch: &Dispatch, method: Method, uri: &str) -> (StatusCode, String) {
        let response = dispatch.get_response(Request::builder().method(method).uri_str(uri).finish()).await;
        (response.status(), response.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn operations_their_parameters_and_the_other_routes_answer_as_under_poem_openapi() {
        let others = Route::new().at("/other", poem::get(poem::endpoint::make_sync(|_| "other")));
        let dispatch = Dispatch::new(Operations::of(Api), others);
        let ok = |text: &str| (StatusCode::OK, text.to_owned());
        assert_eq!(answer(&dispatch, Method::GET, "/plain").await, ok("plain"));
        assert_eq!(answer(&dispatch, Method::HEAD, "/plain").await, ok(""), "HEAD is answered as GET");
        assert_eq!(answer(&dispatch, Method::GET, "/echo?word=hi").await, ok("hi"));
        assert_eq!(answer(&dispatch, Method::GET, "/echo").await, ok("none"));
        assert_eq!(answer(&dispatch, Method::GET, "/items/7?word=x").await, ok("7 x"));
        assert_eq!(answer(&dispatch, Method::GET, "/other").await, ok("other"));
        assert_eq!(answer(&dispatch, Method::POST, "/plain").await.0, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(answer(&dispatch, Method::GET, "/plain/").await.0, StatusCode::NOT_FOUND);
        assert_eq!(answer(&dispatch, Method::GET, "/items/x").await.0, StatusCode::BAD_REQUEST);
        assert_eq!(answer(&dispatch, Method::GET, "/nowhere").await.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn only_the_operations_reading_the_query_have_it_parsed() {
        let operations = Operations::of(Api);
        assert_eq!(operations.reading_the_query, HashSet::from(["/echo".to_owned(), "/items/{id}".to_owned()]));
    }
}
