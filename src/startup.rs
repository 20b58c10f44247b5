//! Builds the application: the resource server from the settings, the routes it guards, the
//! listener; runs it until shutdown.

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use jwt_resource_server::{
    BuildError, CacheBounds, DpopConfig, DpopMode, Issuer, ReplayStoreConfig, ResourceServer, SharedClock, SystemClock,
    acr_values_of,
    dpop::{DPOP_HEADER, DPOP_NONCE_HEADER},
    resource_metadata_path,
};
use poem::{
    Endpoint, EndpointExt, Response, Route, get,
    http::{HeaderName, HeaderValue, Method, header},
};
use poem_jwt_resource_server::{Guard, Protected, ProtectedOperation};
use poem_openapi::OpenApi;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    api::{
        self,
        docs::{DOCS_PATH, DocsLogin, RECEIVER_PATH, SPEC_JSON_PATH, SPEC_YAML_PATH, ServedSpec, serve_spec},
    },
    dev_issuer::{
        self, DevIssuer, DevIssuerError,
        api::DevTokenApi,
        authorize::{AUTHORIZE_PATH, AuthorizationServer, OAUTH_TOKEN_PATH},
    },
    http::{
        BodyLimit, ConnectionLimits, Cors, Dispatch, Drain, FrameworkErrors, OpenFiles, Operations, RouteTable,
        Timeouts,
    },
    metrics::{METRICS_PATH, Metrics, MetricsEndpoint},
    settings::{
        IdentityProvider, IssuerSettings, NonceMode, ReplayStoreSetting, Settings, sections::decryption_key,
        values::Origin,
    },
    telemetry::{REQUEST_ID_HEADER, RequestTrace},
};

/// The realm the challenges name.
const REALM: &str = "protected-api";

/// The client id of Swagger UI at the development issuer, unless `docs.client_id` names one.
pub const DEV_DOCS_CLIENT: &str = "protected-api-docs";

/// Most connections the metrics listener takes: it serves scrapers, not clients.
const METRICS_MAX_CONNECTIONS: usize = 64;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source} (set HOST and PORT)")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The resource server could not be built from the settings.
    #[error("cannot set up the token checks: {0}")]
    ResourceServer(#[from] BuildError),
    /// The development issuer could not be set up.
    #[error(transparent)]
    DevIssuer(#[from] DevIssuerError),
    /// A decryption key file could not be read since the settings were checked.
    #[error("cannot read auth0.decryption_keys: {0}")]
    DecryptionKey(String),
}

/// Everything the routes are built from.
pub struct AppState {
    /// The resource server in front of the protected operations: tokens, DPoP proofs, answers.
    pub guard: Guard,
    /// The development issuer, when it runs.
    pub dev_issuer: Option<Arc<DevIssuer>>,
    /// The development issuer's authorization code flow for Swagger UI, when it runs.
    pub dev_login: Option<Arc<AuthorizationServer>>,
    /// Swagger UI's login, when there is one: the client and the login issuer's endpoints.
    pub docs_login: Option<Arc<DocsLogin>>,
    /// Which trusted issuer serves the login (its position), when it is a configured one.
    pub login_issuer: Option<usize>,
    /// Whether Swagger UI keeps the authorization across reloads.
    pub persist_authorization: bool,
    /// Request, token and key metrics.
    pub metrics: Arc<Metrics>,
    /// Whether `/metrics` is served by the API's listener.
    pub metrics_on_api: bool,
    /// The URL clients reach the service at, without a trailing slash.
    pub public_url: String,
    /// Browser origins allowed by CORS; empty: no CORS.
    pub cors_origins: Vec<Origin>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Turned on by the shutdown signal: `/readyz` fails, answers close their connections.
    pub drain: Drain,
}

/// A bound, ready-to-run service.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    metrics_listener: Option<(TcpListener, SocketAddr)>,
    state: AppState,
    limits: ConnectionLimits,
    shutdown_delay: Duration,
    shutdown_timeout: Duration,
}

impl Application {
    /// Binds the listener (port 0 picks a free port), then sets up the verifier for the
    /// configured issuer or, without one, the development issuer served at `/dev/`.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`build`](Self::build), with every time rule of the token checks (and the development
    /// issuer's token times) reading `clock`: tests move a `ManualClock` instead of sleeping.
    pub async fn build_with_clock(settings: &Settings, clock: SharedClock) -> Result<Self, StartupError> {
        let limits = ConnectionLimits {
            timeouts: Timeouts {
                header: settings.server.header_timeout,
                body: settings.server.body_timeout,
                idle: settings.server.idle_timeout,
            },
            max_connections: fit_connections(settings.server.max_connections),
        };
        let (listener, address) = bind(settings.server.listen_address()).await?;
        let metrics_listener = match (settings.metrics.address, settings.metrics.enabled) {
            (Some(metrics_address), true) => Some(bind(metrics_address).await?),
            _ => None,
        };
        let metrics = Arc::new(Metrics::new());
        let public_url = match &settings.server.public_url {
            Some(url) => url.clone(),
            None => url::Url::parse(&format!("http://{}", reachable(address))).expect("a socket address makes a URL"),
        };
        let operations = Protected::<api::Apis>::operations();
        let acr_values = acr_values_of(operations.iter().map(|operation| &operation.requirement));
        let (issuers, dev_issuer) = match &settings.identity_provider {
            IdentityProvider::Configured(issuers) => (issuers.iter().map(issuer).collect(), None),
            IdentityProvider::Development { audience } => {
                let url = format!("http://{}/dev/", reachable(address));
                let dev_issuer = DevIssuer::generate(url.clone(), audience.clone(), &acr_values, Arc::clone(&clock))?;
                let issuer = Issuer::url(url).audience(audience.clone()).algorithms(settings.auth0.algorithms.clone());
                (vec![issuer.token_profile(settings.auth0.token_profile)], Some(Arc::new(dev_issuer)))
            }
        };
        if settings.dpop.mode != DpopMode::Disabled
            && settings.server.public_url.is_none()
            && settings.profile == crate::settings::PRODUCTION_PROFILE
        {
            tracing::warn!(
                "server.public_url is not set: DPoP proofs must name {public_url}; set APP_SERVER__PUBLIC_URL to the URL clients call"
            );
        }
        let server = resource_server(settings, issuers, public_url.as_str(), Arc::clone(&metrics), clock)?;
        let guard =
            Guard::builder(server).spec_text(api::spec_text()).build().expect("the service's words are its only ones");
        let docs_url = format!("{}{DOCS_PATH}", public_url.as_str().trim_end_matches('/'));
        let (docs_login, dev_login, login_issuer) = match (&dev_issuer, &settings.docs.client_id) {
            (Some(issuer), client_id) => {
                let client_id = client_id.clone().unwrap_or_else(|| DEV_DOCS_CLIENT.to_owned());
                let server = AuthorizationServer::new(
                    client_id.clone(),
                    format!("{docs_url}{RECEIVER_PATH}"),
                    acr_values.iter().map(|acr| (*acr).to_owned()).collect(),
                );
                let login = DocsLogin::new(client_id, issuer.audience().to_owned(), &operations);
                let base = issuer.issuer().trim_end_matches("/dev/");
                login.found(jwt_resource_server::LoginEndpoints {
                    authorization: url::Url::parse(&format!("{base}{AUTHORIZE_PATH}")).expect("a URL"),
                    token: url::Url::parse(&format!("{base}{OAUTH_TOKEN_PATH}")).expect("a URL"),
                });
                (Some(Arc::new(login)), Some(Arc::new(server)), None)
            }
            (None, Some(client_id)) => {
                let issuers = guard.server().verifier().issuers();
                let index = match &settings.docs.login_issuer {
                    Some(login) => issuers.iter().position(|issuer| issuer.issuer() == login).unwrap_or(0),
                    None => 0,
                };
                let audience = issuers[index].audience().to_owned();
                let login = DocsLogin::new(client_id.clone(), audience, &operations);
                (Some(Arc::new(login)), None, Some(index))
            }
            (None, None) => (None, None, None),
        };
        let state = AppState {
            guard,
            dev_login,
            docs_login,
            login_issuer,
            persist_authorization: settings.docs.persist_authorization,
            dev_issuer,
            metrics,
            metrics_on_api: settings.metrics.enabled && settings.metrics.address.is_none(),
            public_url: public_url.as_str().trim_end_matches('/').to_owned(),
            cors_origins: settings.cors.allowed_origins.clone(),
            max_body_bytes: settings.server.max_body_bytes,
            drain: Drain::new(),
        };
        Ok(Application {
            listener,
            address,
            metrics_listener,
            state,
            limits,
            shutdown_delay: settings.server.shutdown_delay,
            shutdown_timeout: settings.server.shutdown_timeout,
        })
    }

    /// The address the service listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address `/metrics` is served on when it has a listener of its own.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, address)| *address)
    }

    /// What the routes are built from.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains: `/readyz` fails and answers close their
    /// connections for `server.shutdown_delay` while serving goes on, then accepting stops and
    /// in-flight requests have `server.shutdown_timeout` to finish.
    /// The signing keys are fetched in the background; the server does not wait for them.
    ///
    /// Returns the moment the grace period ends: what is left of it bounds the final log flush.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<Instant> {
        let server = Arc::clone(self.state.guard.server());
        tokio::spawn(async move { server.warm_up().await });
        if let (Some(login), Some(index)) = (&self.state.docs_login, self.state.login_issuer) {
            let keys = Arc::clone(self.state.guard.server().verifier().issuers()[index].key_store());
            tokio::spawn(Arc::clone(login).discover(keys));
        }
        let (stop, stopped) = watch::channel(false);
        let stopping = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        };
        let grace = self.shutdown_timeout;
        let drain = self.state.drain.clone();
        let stats = self.state.metrics.connections().clone();
        let metrics_server = self.metrics_listener.map(|(listener, _)| {
            let mut table = RouteTable::default();
            table.add(METRICS_PATH, &Method::GET);
            let routes = Route::new().nest(METRICS_PATH, metrics_routes(&self.state)).with(RequestTrace::new(
                Arc::clone(&self.state.metrics),
                Arc::new(table),
                &[],
            ));
            let limits = ConnectionLimits { max_connections: METRICS_MAX_CONNECTIONS, ..self.limits };
            tokio::spawn(crate::http::serve(listener, routes, limits, stats.clone(), drain.clone(), stopping(), grace))
        });
        let api_server = crate::http::serve(
            self.listener,
            routes(&self.state).endpoint,
            self.limits,
            stats,
            drain.clone(),
            stopping(),
            grace,
        );
        let delay = self.shutdown_delay;
        let signal = async move {
            shutdown.await;
            drain.start();
            if !delay.is_zero() {
                tracing::info!(
                    delay = ?delay,
                    "draining: /readyz answers 503 and answers close their connections; serving for {delay:?} more"
                );
                tokio::time::sleep(delay).await;
            }
            tracing::info!(grace = ?grace, "no longer accepting connections; finishing in-flight requests");
            let _ = stop.send(true);
            Instant::now() + grace
        };
        let (result, grace_ends) = tokio::join!(api_server, signal);
        if let Some(metrics_server) = metrics_server {
            metrics_server.await.map_err(std::io::Error::other)??;
        }
        result.map(|()| grace_ends)
    }

    /// Serves until SIGINT or SIGTERM; returns when the grace period ends.
    pub async fn run_until_stopped(self) -> std::io::Result<Instant> {
        self.run_until(shutdown_signal()).await
    }
}

/// The resource server the settings describe, trusting `issuers`, for requests to `public_url`,
/// reporting to `metrics` and reading `clock`.
fn resource_server(
    settings: &Settings,
    issuers: Vec<Issuer>,
    public_url: &str,
    metrics: Arc<Metrics>,
    clock: SharedClock,
) -> Result<ResourceServer, StartupError> {
    let token_cache = &settings.token_cache;
    let mut builder = ResourceServer::builder()
        .leeway(settings.auth0.leeway)
        .max_token_bytes(settings.auth0.max_token_bytes)
        .token_cache(token_cache.enabled.then_some(CacheBounds {
            max_bytes: token_cache.max_bytes,
            max_entries: token_cache.max_entries,
            max_ttl: token_cache.max_ttl,
        }))
        .refresh_policy(settings.jwks.refresh_policy())
        .fetch_limits(settings.jwks.fetch_limits())
        .public_url(public_url)
        .realm(REALM)
        .observer(metrics)
        .clock(clock);
    if settings.traces.is_some() {
        // Key fetches continue the trace of the request (or the refresh) that made them.
        builder = builder.fetch_headers(Arc::new(crate::telemetry::traces::outgoing_headers));
    }
    for issuer in issuers {
        builder = builder.issuer(issuer);
    }
    let auth0 = &settings.auth0;
    for organization in &auth0.organizations {
        builder = builder.organization(organization.organization());
    }
    for claim in &auth0.acr_claims {
        builder = builder.acr_claim(claim.acr_claim());
    }
    if let Some(claim) = &auth0.auth_time_claim {
        builder = builder.auth_time_claim(claim.as_str());
    }
    for path in &auth0.decryption_keys {
        builder = builder.decryption_key(decryption_key(path).map_err(StartupError::DecryptionKey)?);
    }
    let dpop = &settings.dpop;
    if dpop.mode != DpopMode::Disabled {
        builder = builder.dpop(DpopConfig {
            mode: dpop.mode,
            algorithms: dpop.algorithms.clone(),
            max_age: dpop.max_age,
            leeway: dpop.leeway,
            replay_store: match &dpop.replay_store {
                ReplayStoreSetting::Memory => ReplayStoreConfig::Memory { capacity: dpop.replay_capacity },
                ReplayStoreSetting::Redis(url) => {
                    ReplayStoreConfig::Redis { url: url.clone(), timeout: dpop.redis_timeout }
                }
            },
            nonce_secret: match dpop.nonce {
                NonceMode::Required => dpop.nonce_secret.as_ref().map(|secret| secret.expose().as_bytes().to_vec()),
                NonceMode::Disabled => None,
            },
            nonce_lifetime: dpop.nonce_lifetime,
        });
    }
    Ok(builder.build()?)
}

/// A configured issuer, as the resource server trusts it.
fn issuer(settings: &IssuerSettings) -> Issuer {
    let issuer = Issuer::url(settings.issuer.as_str())
        .audience(settings.audience.clone())
        .algorithms(settings.algorithms.clone())
        .token_profile(settings.token_profile);
    match &settings.jwks_url {
        Some(jwks_url) => issuer.jwks_url(jwks_url.as_str()),
        None => issuer,
    }
}

async fn bind(address: SocketAddr) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind { address, source };
    let listener = TcpListener::bind(address).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}

/// Raises the open-files limit and fits `max_connections` under it, saying what it did.
fn fit_connections(max_connections: usize) -> usize {
    let open_files = match OpenFiles::raise() {
        Ok(open_files) => open_files,
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-files limit");
            return max_connections;
        }
    };
    let fitted = max_connections.min(open_files.connection_room());
    tracing::info!(
        open_files = open_files.now,
        raised_from = open_files.before,
        max_connections = fitted,
        "open-files limit {} (started at {}); at most {fitted} connections",
        open_files.now,
        open_files.before
    );
    if fitted < max_connections {
        tracing::warn!(
            "server.max_connections = {max_connections} does not fit under the open-files limit {}: lowered to {fitted} (raise the hard limit, e.g. LimitNOFILE= or ulimit -Hn)",
            open_files.now
        );
    }
    fitted
}

/// Where the service can reach itself: the bound address, with a wildcard IP made loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port()),
        _ => address,
    }
}

/// The service's routes with their middleware, and the table of their paths.
pub struct Routes<E> {
    /// Every route, ready to serve.
    pub endpoint: E,
    /// Every path and its methods: `Allow` for 405s and the metrics' route labels.
    pub table: Arc<RouteTable>,
}

/// Every route of the service, with its middleware; the development issuer's when it runs.
///
/// From the inside out: the operations and the routes beside them, the body limit, JSON answers
/// for every error the routes raise, CORS when origins are allowed (with a JSON answer to a refused
/// preflight), the request trace. Each path is recorded in the route table as it is mounted. No
/// layer is boxed: a request goes through them as one future.
pub fn routes(state: &AppState) -> Routes<impl Endpoint<Output = Response> + 'static> {
    let guard = &state.guard;
    let server = guard.server();
    let mut table = RouteTable::default();
    let (operations, mut routes, protected) = match (&state.dev_issuer, &state.dev_login) {
        (Some(issuer), Some(login)) => {
            let token_api = DevTokenApi::new(Arc::clone(issuer), Arc::clone(server));
            let apis = (api::MessagesApi, api::HealthApi::new(Arc::clone(server), state.drain.clone()), token_api);
            let (operations, mut routes, protected) = mount(guard.protect(apis), state, &mut table);
            for (path, methods, endpoint) in dev_issuer::api::documents(issuer, login) {
                for method in methods {
                    table.add(path, method);
                }
                routes = routes.at(path, endpoint);
            }
            (operations, routes, protected)
        }
        _ => mount(api::protected(guard, state.drain.clone()), state, &mut table),
    };
    let scopes = jwt_resource_server::scopes_of(protected.iter().map(|operation| &operation.requirement));
    let metadata = Arc::new(guard.metadata_endpoint(scopes, env!("CARGO_PKG_NAME")));
    let metadata_path = resource_metadata_path(server.verifier().audience());
    let mut metadata_paths = vec![jwt_resource_server::RESOURCE_METADATA_PATH];
    if metadata_path != jwt_resource_server::RESOURCE_METADATA_PATH {
        metadata_paths.push(&metadata_path);
    }
    for path in metadata_paths {
        table.add(path, &Method::GET);
        routes = routes.at(path, get(Arc::clone(&metadata)));
    }
    if state.metrics_on_api {
        table.add(METRICS_PATH, &Method::GET);
        routes = routes.nest(METRICS_PATH, metrics_routes(state));
    }
    let table = Arc::new(table);
    let errors = FrameworkErrors::new(Arc::clone(&table));
    let trace = RequestTrace::new(Arc::clone(&state.metrics), Arc::clone(&table), api::PROBE_PATHS);
    let endpoint = Dispatch::new(operations, routes)
        .with(BodyLimit::new(state.max_body_bytes))
        .with(errors)
        .with_if(!state.cors_origins.is_empty(), cors(&state.cors_origins))
        .with(trace);
    Routes { endpoint, table }
}

/// `/metrics`.
fn metrics_routes(state: &AppState) -> Route {
    let endpoint = MetricsEndpoint::new(Arc::clone(&state.metrics), Arc::clone(state.guard.server()));
    Route::new().at("/", get(endpoint))
}

/// Exactly these origins may call the API from a browser, with a bearer or DPoP token.
fn cors(origins: &[Origin]) -> Cors {
    let origins = origins.iter().filter_map(|origin| HeaderValue::from_str(origin.as_str()).ok());
    Cors::new(
        origins,
        &[Method::GET, Method::POST],
        &[header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static(DPOP_HEADER)],
        &[
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
            HeaderName::from_static(DPOP_NONCE_HEADER),
            HeaderName::from_static(REQUEST_ID_HEADER),
        ],
        600,
    )
}

/// The operations of `apis`, their spec (`/openapi.json`, `/openapi.yaml`) and Swagger UI
/// (`/docs`, with its copy of the spec); the methods of each path go into `table`. Returns the
/// operations, the routes beside them and what each operation requires.
fn mount<T: OpenApi + Clone + 'static>(
    apis: Protected<T>,
    state: &AppState,
    table: &mut RouteTable,
) -> (Operations, Route, Vec<ProtectedOperation>) {
    table.add_operations(&Protected::<T>::meta());
    let receiver = format!("{DOCS_PATH}{RECEIVER_PATH}");
    let page_spec = format!("{DOCS_PATH}{SPEC_JSON_PATH}");
    for path in [SPEC_JSON_PATH, SPEC_YAML_PATH, DOCS_PATH, &receiver, &page_spec] {
        table.add(path, &Method::GET);
    }
    let service = api::describe(apis.clone());
    let login = state.docs_login.clone();
    let spec = ServedSpec::new(service.spec(), login.clone());
    // Swagger UI cannot sign DPoP proofs: its page offers the bearer scheme and the login only.
    let page = Arc::new(spec.without_scheme(api::spec_text().dpop_scheme));
    let docs = api::docs::swagger_ui(
        service.swagger_ui_html(),
        state.persist_authorization,
        page,
        login,
        service.swagger_ui(),
    );
    let others = Route::new()
        .at(SPEC_JSON_PATH, get(serve_spec).data(Arc::new(spec)))
        .at(SPEC_YAML_PATH, get(service.spec_endpoint_yaml()))
        .nest(DOCS_PATH, docs);
    (Operations::of(apis), others, Protected::<T>::operations())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what containers and systemd send).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
}
