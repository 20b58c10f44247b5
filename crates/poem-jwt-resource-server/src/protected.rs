//! An API whose operations are protected by a guard: [`Protected`] wraps a poem-openapi API, and
//! is one itself.
//!
//! - **Its spec.** Each operation taking an [`AccessToken`](crate::AccessToken) or
//!   [`OptionalAccessToken`](crate::OptionalAccessToken) gets the security schemes and the
//!   answers of a refusal (400, 401, the requirement's, 503), from the extractor's type alone; a
//!   DPoP-only requirement leaves the bearer scheme out.
//! - **Its routes.** Those operations' endpoints are wrapped: the guard reaches the extractor,
//!   a refusal is answered with its challenges (and the current DPoP nonce), and `HEAD` is routed
//!   here, so a proof is checked against the method the client sent.
//! - **No requirement reads a missing path parameter.** A requirement naming one
//!   ([`PathOrganization`](jwt_resource_server::PathOrganization)) on an operation whose path lacks
//!   it panics as the routes are built, at start-up.
//! - **No operation goes unguarded.** An extractor names its requirement to the spec being made
//!   through a marker only [`Protected::meta`] reads; made anywhere else — an API using the
//!   extractors served without [`Guard::protect`](crate::Guard::protect) — it panics as the
//!   routes are built, at start-up.

use std::{cell::RefCell, collections::HashMap, sync::Arc};

use jwt_resource_server::{Requirement, RequirementDoc};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, endpoint::BoxEndpoint, http::Method};
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, MetaOperation, MetaResponse, Registry},
};

use crate::{
    body::ErrorBody,
    guard::{AuthFailure, Guard, OperationGuard},
    openapi::refusal_responses,
    spec_text::SpecText,
};

/// The requirement behind each marker, while [`Protected::meta`] makes a spec.
type Notes = HashMap<&'static str, RequirementDoc>;

thread_local! {
    static NOTES: RefCell<Option<Notes>> = const { RefCell::new(None) };
}

/// A type to name the marker of a requirement `R`.
struct Marker<R>(std::marker::PhantomData<R>);

/// The marker of `R` in the operation's security, noting `R` for the spec being made; panics
/// when no protected API is making one.
pub(crate) fn note_requirement<R: Requirement>() -> &'static str {
    let marker = std::any::type_name::<Marker<R>>();
    NOTES.with(|notes| match notes.borrow_mut().as_mut() {
        Some(notes) => {
            notes.entry(marker).or_insert_with(RequirementDoc::of::<R>);
        }
        None => panic!(
            "an operation takes an AccessToken or OptionalAccessToken, but its API is not protected: serve it as guard.protect(api) (poem-jwt-resource-server)"
        ),
    });
    marker
}

/// An operation of a protected API, as its spec says.
#[derive(Debug, Clone)]
pub struct ProtectedOperation {
    /// Its path, in the spec's form (`/api/orgs/{org_id}`).
    pub path: String,
    /// Its method.
    pub method: Method,
    /// Its `operationId`, when it has one.
    pub operation_id: Option<&'static str>,
    /// What it requires.
    pub requirement: RequirementDoc,
}

/// The API `T`, its operations protected by a guard. Made by [`Guard::protect`](crate::Guard::protect).
#[derive(Clone)]
pub struct Protected<T> {
    api: T,
    guard: Guard,
}

impl<T: OpenApi> Protected<T> {
    pub(crate) fn new(api: T, guard: Guard) -> Self {
        Protected { api, guard }
    }

    /// The operations of `T` that take an access token, and what each requires: the scopes the
    /// spec's login, the resource metadata and the docs derive from.
    ///
    /// ```
    /// use jwt_resource_server::{Scope, scope, scopes_of};
    /// use poem_jwt_resource_server::{AccessToken, Protected};
    /// use poem_openapi::{OpenApi, payload::PlainText};
    ///
    /// scope!(pub ReadMessages = "read:messages");
    /// scope!(pub WriteMessages = "write:messages");
    ///
    /// struct Messages;
    ///
    /// #[OpenApi]
    /// impl Messages {
    ///     #[oai(path = "/messages", method = "get", operation_id = "listMessages")]
    ///     async fn list(&self, _token: AccessToken<Scope<ReadMessages>>) -> PlainText<&'static str> {
    ///         PlainText("[]")
    ///     }
    ///
    ///     #[oai(path = "/messages", method = "post")]
    ///     async fn write(&self, _token: AccessToken<Scope<WriteMessages>>) -> PlainText<&'static str> {
    ///         PlainText("written")
    ///     }
    /// }
    ///
    /// let operations = Protected::<Messages>::operations();
    /// assert_eq!(operations[0].operation_id, Some("listMessages"));
    /// assert_eq!(scopes_of(operations.iter().map(|operation| &operation.requirement)), ["read:messages", "write:messages"]);
    /// ```
    pub fn operations() -> Vec<ProtectedOperation> {
        let (apis, notes) = collect(T::meta);
        let mut operations = Vec::new();
        for path in apis.iter().flat_map(|api| &api.paths) {
            for operation in &path.operations {
                if let Some(requirement) = requirement_of(operation, &notes) {
                    operations.push(ProtectedOperation {
                        path: path.path.clone(),
                        method: operation.method.clone(),
                        operation_id: operation.operation_id,
                        requirement,
                    });
                }
            }
        }
        operations
    }
}

/// Runs `make` with markers noted, and returns what it made with the notes.
fn collect<R>(make: impl FnOnce() -> R) -> (R, Notes) {
    let outer = NOTES.with(|notes| notes.replace(Some(Notes::new())));
    let made = make();
    let notes = NOTES.with(|notes| notes.replace(outer)).unwrap_or_default();
    (made, notes)
}

/// What `operation` requires, when it takes an access token: the docs of its markers merged.
fn requirement_of(operation: &MetaOperation, notes: &Notes) -> Option<RequirementDoc> {
    let mut found: Option<RequirementDoc> = None;
    for security in &operation.security {
        for name in security.keys() {
            if let Some(doc) = notes.get(name) {
                found.get_or_insert_with(RequirementDoc::default).merge(doc);
            }
        }
    }
    found
}

impl<T: OpenApi> OpenApi for Protected<T> {
    fn meta() -> Vec<MetaApi> {
        let (mut apis, notes) = collect(T::meta);
        let text = SpecText::current();
        for path in apis.iter_mut().flat_map(|api| &mut api.paths) {
            for operation in &mut path.operations {
                let Some(requirement) = requirement_of(operation, &notes) else { continue };
                operation.security.retain(|security| !security.keys().any(|name| notes.contains_key(name)));
                if requirement.dpop_only {
                    operation.security.retain(|security| !security.contains_key(text.bearer_scheme));
                }
                let responses: Vec<MetaResponse> = refusal_responses(&requirement);
                for response in responses {
                    let at = operation
                        .responses
                        .responses
                        .iter()
                        .position(|existing| existing.status > response.status)
                        .unwrap_or(operation.responses.responses.len());
                    operation.responses.responses.insert(at, response);
                }
            }
        }
        apis
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        <ErrorBody as poem_openapi::types::Type>::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        let operations = Self::operations();
        let mut inner = HashMap::new();
        self.api.add_routes(&mut inner);
        for (route, mut methods) in inner {
            for operation in operations.iter().filter(|operation| route_of(&operation.path) == route) {
                let names = path_names(&operation.path);
                if let Some(missing) =
                    operation.requirement.path_params.iter().find(|name| !names.iter().any(|n| n == *name))
                {
                    panic!(
                        "the requirement of {} {} reads the path parameter {{{missing}}}, which its path does not have",
                        operation.method, operation.path
                    );
                }
                let guard = Arc::new(OperationGuard::new(self.guard.clone(), operation.requirement.dpop_only, names));
                let Some(endpoint) = methods.remove(&operation.method) else { continue };
                let endpoint: Arc<BoxEndpoint<'static>> = Arc::new(endpoint);
                if operation.method == Method::GET && !methods.contains_key(&Method::HEAD) {
                    methods.insert(
                        Method::HEAD,
                        Guarded { inner: Arc::clone(&endpoint), guard: Arc::clone(&guard) }.boxed(),
                    );
                }
                methods.insert(operation.method.clone(), Guarded { inner: endpoint, guard }.boxed());
            }
            route_table.entry(route).or_default().extend(methods);
        }
    }
}

/// The route poem-openapi serves the spec path `path` at: each `{name}` becomes `:paramN`.
fn route_of(path: &str) -> String {
    let mut route = String::with_capacity(path.len());
    let mut count = 0;
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        route.push('/');
        if segment.starts_with('{') && segment.ends_with('}') {
            route.push_str(&format!(":param{count}"));
            count += 1;
        } else {
            route.push_str(segment);
        }
    }
    if route.is_empty() {
        route.push('/');
    }
    route
}

/// The names of the parameters of the spec path `path`, in order.
fn path_names(path: &str) -> Vec<String> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect()
}

/// A protected operation's endpoint: its guard reaches the extractor, a refusal is answered with
/// its challenges, and a `HEAD` is answered as the `GET` it is, without a body.
struct Guarded {
    inner: Arc<BoxEndpoint<'static>>,
    guard: Arc<OperationGuard>,
}

impl Endpoint for Guarded {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let head = req.method() == Method::HEAD;
        let used_dpop = jwt_resource_server::ResourceServer::uses_dpop(req.headers());
        req.extensions_mut().insert(Arc::clone(&self.guard));
        let mut response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            // Answered here rather than by poem::Error, which would drop the `Refused` extension.
            Err(error) => match error.downcast_ref::<AuthFailure>() {
                Some(AuthFailure(refusal)) => self.guard.answer(refusal, used_dpop),
                None => return Err(error),
            },
        };
        self.guard.add_nonce(&mut response, used_dpop);
        if head {
            response.set_body(());
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_paths_become_poem_openapi_routes() {
        assert_eq!(route_of("/api/private"), "/api/private");
        assert_eq!(route_of("/api/orgs/{org_id}/messages/{id}"), "/api/orgs/:param0/messages/:param1");
        assert_eq!(route_of("/"), "/");
        assert_eq!(path_names("/api/orgs/{org_id}/messages/{id}"), ["org_id", "id"]);
    }

    #[test]
    #[should_panic(expected = "its API is not protected")]
    fn an_extractor_outside_a_protected_api_panics() {
        note_requirement::<()>();
    }
}
