//! Builds the application: the verifier, the routes, the listener; runs it until shutdown.

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use poem::{
    EndpointExt, Route, Server,
    endpoint::BoxEndpoint,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use poem_openapi::{OpenApi, OpenApiService};

use crate::{
    api,
    auth::{BearerChallenge, FetchError, Verifier},
    dev_issuer::{DevIssuer, DevIssuerError, api::DevTokenApi},
    settings::{IdentityProvider, Settings},
    telemetry::RequestTrace,
};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source} (set HOST and PORT)")]
    Bind {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key source could not be set up.
    #[error("cannot set up the key source: {0}")]
    Keys(#[from] FetchError),
    /// The development issuer could not be set up.
    #[error(transparent)]
    DevIssuer(#[from] DevIssuerError),
}

/// A bound, ready-to-run service.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    verifier: Arc<Verifier>,
    dev_issuer: Option<Arc<DevIssuer>>,
    shutdown_timeout: Duration,
}

impl Application {
    /// Binds the listener (port 0 picks a free port), then sets up the verifier for the
    /// configured issuer or, without one, the development issuer served at `/dev/`.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let bind_address = settings.bind_address();
        let bind_error = |source| StartupError::Bind { address: bind_address.clone(), source };
        let acceptor = TcpListener::bind(bind_address.clone()).into_acceptor().await.map_err(bind_error)?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| bind_error(std::io::Error::other("no local address")))?;
        let (issuer, audience, dev_issuer) = match settings.identity_provider() {
            IdentityProvider::Configured { issuer, audience } => (issuer, audience, None),
            IdentityProvider::Development { audience } => {
                let issuer = format!("http://{}/dev/", reachable(address));
                let dev_issuer = DevIssuer::generate(issuer.clone(), audience.clone())?;
                (issuer, audience, Some(Arc::new(dev_issuer)))
            }
        };
        let verifier = Arc::new(Verifier::new(issuer, audience, settings)?);
        Ok(Application { acceptor, address, verifier, dev_issuer, shutdown_timeout: settings.server.shutdown_timeout })
    }

    /// The address the service listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The token verifier the routes use.
    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    /// The development issuer, when it runs.
    pub fn dev_issuer(&self) -> Option<&Arc<DevIssuer>> {
        self.dev_issuer.as_ref()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    /// The signing keys are fetched in the background; the server does not wait for them.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let keys = Arc::clone(self.verifier.key_store());
        tokio::spawn(async move { keys.warm_up().await });
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes(self.verifier, self.dev_issuer), shutdown, Some(self.shutdown_timeout))
            .await
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Where the service can reach itself: the bound address, with a wildcard IP made loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), address.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), address.port()),
        _ => address,
    }
}

/// Every route of the service, with its middleware; the development issuer's when it runs.
pub fn routes(verifier: Arc<Verifier>, dev_issuer: Option<Arc<DevIssuer>>) -> BoxEndpoint<'static> {
    let routes = match dev_issuer {
        None => mount(api::service()).boxed(),
        Some(issuer) => {
            let apis = (api::MessagesApi, api::HealthApi, DevTokenApi::new(issuer.clone()));
            crate::dev_issuer::api::with_documents(mount(api::describe(apis)), issuer).boxed()
        }
    };
    routes.data(verifier).with(RequestTrace).boxed()
}

/// The operations, their spec (`/openapi.json`, `/openapi.yaml`) and Swagger UI (`/docs`).
fn mount<T: OpenApi + 'static>(service: OpenApiService<T, ()>) -> Route {
    let docs = api::docs::swagger_ui(&service.swagger_ui_html());
    Route::new()
        .at("/openapi.json", service.spec_endpoint())
        .at("/openapi.yaml", service.spec_endpoint_yaml())
        .nest("/docs", docs)
        .nest("/", service.with(BearerChallenge))
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
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
