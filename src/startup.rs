//! Builds the application: the verifier, the routes, the listener; runs it until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use poem::{
    Endpoint, EndpointExt, Route, Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};

use crate::{
    api,
    auth::{BearerChallenge, FetchError, Verifier},
    settings::Settings,
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
}

/// A bound, ready-to-run service.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    verifier: Arc<Verifier>,
    shutdown_timeout: Duration,
}

impl Application {
    /// Sets up the verifier and binds the listener (port 0 picks a free port).
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let verifier = Arc::new(Verifier::new(settings)?);
        let bind_address = settings.bind_address();
        let bind_error = |source| StartupError::Bind { address: bind_address.clone(), source };
        let acceptor = TcpListener::bind(bind_address.clone()).into_acceptor().await.map_err(bind_error)?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().copied())
            .ok_or_else(|| bind_error(std::io::Error::other("no local address")))?;
        Ok(Application { acceptor, address, verifier, shutdown_timeout: settings.server.shutdown_timeout })
    }

    /// The address the service listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The token verifier the routes use.
    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    /// The signing keys are fetched in the background; the server does not wait for them.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let keys = Arc::clone(self.verifier.key_store());
        tokio::spawn(async move { keys.warm_up().await });
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes(self.verifier), shutdown, Some(self.shutdown_timeout))
            .await
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// Every route of the service, with its middleware.
pub fn routes(verifier: Arc<Verifier>) -> impl Endpoint {
    let api = api::service();
    let docs = api::docs::swagger_ui(&api.swagger_ui_html());
    Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .nest("/docs", docs)
        .nest("/", api.with(BearerChallenge))
        .data(verifier)
        .with(RequestTrace)
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
