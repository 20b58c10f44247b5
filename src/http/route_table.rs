//! Every path the service serves and the methods each takes, recorded as the routes are mounted:
//! the one list behind the `Allow` header of a 405 and the `route` label of the request metrics.

use std::{collections::BTreeSet, sync::Arc};

use poem::http::Method;

/// The label of requests to a path the service does not serve.
pub const UNMATCHED: &str = "unmatched";

/// The paths the service serves.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// Path templates (`/items/{id}`) and their methods.
    paths: Vec<Route>,
    unmatched: Arc<str>,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable { paths: Vec::new(), unmatched: UNMATCHED.into() }
    }
}

#[derive(Debug, Clone)]
struct Route {
    template: Arc<str>,
    is_template: bool,
    methods: BTreeSet<String>,
}

impl RouteTable {
    /// Records that `path` (a template whose `{…}` segments match any segment) takes `method`;
    /// GET implies HEAD, as poem answers HEAD from GET.
    pub fn add(&mut self, path: &str, method: &Method) {
        let route = match self.paths.iter().position(|known| &*known.template == path) {
            Some(index) => &mut self.paths[index],
            None => {
                let is_template = path.split('/').any(|segment| segment.starts_with('{') && segment.ends_with('}'));
                self.paths.push(Route { template: path.into(), is_template, methods: BTreeSet::new() });
                self.paths.last_mut().expect("just pushed")
            }
        };
        route.methods.insert(method.as_str().to_owned());
        if method == Method::GET {
            route.methods.insert(Method::HEAD.as_str().to_owned());
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
        let route = self.find(path)?;
        let mut methods: Vec<&str> = route.methods.iter().map(String::as_str).collect();
        methods.sort_by_key(|method| METHOD_ORDER.iter().position(|known| known == method).unwrap_or(usize::MAX));
        Some(methods.join(", "))
    }

    /// The metrics label of a request path: the template it matches (a trailing slash ignored),
    /// else [`UNMATCHED`]. Bounded by the routes, whatever paths clients send.
    pub fn label(&self, path: &str) -> Arc<str> {
        Arc::clone(self.find(path).map_or(&self.unmatched, |route| &route.template))
    }

    /// Every path template, in the order recorded.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(|route| &*route.template)
    }

    /// Where the template `path` matches (a trailing slash ignored) is in [`templates`](Self::templates).
    pub fn position(&self, path: &str) -> Option<usize> {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        self.paths.iter().position(|route| !route.is_template && &*route.template == path).or_else(|| {
            self.paths.iter().position(|route| route.is_template && matches_template(&route.template, path))
        })
    }

    fn find(&self, path: &str) -> Option<&Route> {
        self.position(path).map(|at| &self.paths[at])
    }
}

/// The order methods are listed in.
const METHOD_ORDER: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn matches_template(template: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    template.split('/').all(|expected| {
        segments
            .next()
            .is_some_and(|segment| (expected.starts_with('{') && expected.ends_with('}')) || expected == segment)
    }) && segments.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let mut table = RouteTable::default();
        table.add("/api/public", &Method::GET);
        table.add("/dev/token", &Method::POST);
        table.add("/items/{id}", &Method::DELETE);
        table.add("/items/{id}", &Method::GET);
        table
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_template() {
        let allowed = table();
        assert_eq!(allowed.allow("/api/public").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed.allow("/api/public/").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed.allow("/dev/token").as_deref(), Some("POST"));
        assert_eq!(allowed.allow("/items/42").as_deref(), Some("GET, HEAD, DELETE"));
        assert_eq!(allowed.allow("/items/42/more"), None);
        assert_eq!(allowed.allow("/nowhere"), None);
    }

    #[test]
    fn labels_are_the_templates_or_unmatched() {
        let table = table();
        assert_eq!(&*table.label("/api/public/"), "/api/public");
        assert_eq!(&*table.label("/items/42"), "/items/{id}");
        assert_eq!(&*table.label("/api/public/../x"), UNMATCHED);
        assert_eq!(table.templates().collect::<Vec<_>>(), ["/api/public", "/dev/token", "/items/{id}"]);
        assert_eq!(table.position("/items/42/"), Some(2));
        assert_eq!(table.position("/nowhere"), None);
    }
}
