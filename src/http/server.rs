//! The HTTP/1.1 server the routes run in: accepts connections up to a cap, serves each with
//! hyper under its deadlines (see [`connection`](super::connection)), and stops gracefully.
//!
//! When the cap is reached, a new connection closes the one that has waited the longest (for
//! its first byte, for its head, for the rest of a body, or for its next request), so
//! connections that send nothing
//! cannot lock out the ones that do; when every connection is serving a request, the new one
//! gets 503. Accept errors (such as running out of file descriptors) pause accepting briefly
//! instead of spinning.

use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body::Body as _;
use http_body_util::combinators::BoxBody;
use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use poem::{
    Addr, Body, Endpoint, Request, RequestParts, Response,
    http::{HeaderValue, StatusCode, header, uri::Scheme},
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

use super::{
    Drain,
    connection::{Closed, Timed, TimedBody, Timeouts, TrackedBody, Tracker},
    errors::closing_response,
};
use crate::metrics::ConnectionStats;

/// How long accepting pauses after an accept error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What one server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The header and idle timeouts.
    pub timeouts: Timeouts,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// The connections open now.
#[derive(Default)]
struct Open {
    next_id: AtomicU64,
    inner: Mutex<OpenInner>,
}

#[derive(Default)]
struct OpenInner {
    connections: HashMap<u64, Arc<Tracker>>,
    /// How many of them were asked to close and have not yet.
    shedding: usize,
}

impl Open {
    fn insert(&self, tracker: Arc<Tracker>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().connections.insert(id, tracker);
        id
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        if inner.connections.remove(&id).is_some_and(|tracker| tracker.was_shed()) {
            inner.shedding -= 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OpenInner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether one more connection may open: below `max` (not counting those already asked to
    /// close), or after asking the connection that has waited the longest to close; not when
    /// every connection is serving a request.
    fn make_room(&self, max: usize) -> bool {
        let mut inner = self.lock();
        if inner.connections.len() - inner.shedding < max {
            return true;
        }
        let longest_waiting = inner
            .connections
            .values()
            .filter_map(|tracker| Some((tracker.waiting_since()?, tracker)))
            .min_by_key(|(since, _)| *since)
            .map(|(_, tracker)| Arc::clone(tracker));
        match longest_waiting {
            Some(tracker) => {
                tracker.shed();
                inner.shedding += 1;
                true
            }
            None => false,
        }
    }
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then lets requests in flight
/// finish for up to `grace`. While `drain` is on, every answer closes its connection.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: ConnectionLimits,
    stats: ConnectionStats,
    drain: Drain,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()>
where
    E: Endpoint<Output = Response> + 'static,
{
    let endpoint = Arc::new(endpoint);
    let local = listener.local_addr()?;
    let epoch = Instant::now();
    let open = Arc::new(Open::default());
    let (stop, stopping) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection; pausing accepts");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    }
                };
                if !open.make_room(limits.max_connections) {
                    stats.refused.inc();
                    refuse(&stream);
                    continue;
                }
                let tracker = Arc::new(Tracker::opened(epoch));
                let id = open.insert(Arc::clone(&tracker));
                let connection =
                    Connection { stream, remote, local, tracker, timeouts: limits.timeouts, drain: drain.clone() };
                let (endpoint, open, stopping, stats) =
                    (Arc::clone(&endpoint), Arc::clone(&open), stopping.clone(), stats.clone());
                tasks.spawn(async move {
                    stats.open.inc();
                    let tracker = connection.serve(endpoint, stopping).await;
                    open.remove(id);
                    stats.open.dec();
                    match tracker.closed() {
                        Some(Closed::HeaderTimeout) => stats.header_timeouts.inc(),
                        Some(Closed::IdleTimeout) => stats.idle_timeouts.inc(),
                        Some(Closed::BodyTimeout) => stats.body_timeouts.inc(),
                        None if tracker.was_shed() => stats.shed.inc(),
                        None => 0,
                    };
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::info!(left = tasks.len(), "grace period over; closing the remaining connections");
        tasks.shutdown().await;
    }
    Ok(())
}

/// The answer to a connection that finds every connection serving a request: 503, then closed.
fn refuse(stream: &TcpStream) {
    let response = closing_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &[("retry-after", "1")],
        poem_jwt_resource_server::ErrorCode::TemporarilyUnavailable,
        "the service is at its connection limit; retry later",
    );
    let _ = stream.try_write(&response);
}

/// An accepted connection.
struct Connection {
    stream: TcpStream,
    remote: SocketAddr,
    local: SocketAddr,
    tracker: Arc<Tracker>,
    timeouts: Timeouts,
    drain: Drain,
}

impl Connection {
    /// Serves requests until the client leaves, a deadline passes, the connection is shed or the
    /// server stops; a request being served when asked to stop is finished first.
    async fn serve<E>(self, endpoint: Arc<E>, mut stopping: watch::Receiver<bool>) -> Arc<Tracker>
    where
        E: Endpoint<Output = Response> + 'static,
    {
        let Connection { stream, remote, local, tracker, timeouts, drain } = self;
        let _ = stream.set_nodelay(true);
        let service = {
            let tracker = Arc::clone(&tracker);
            service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let guard = tracker.request_started();
                let endpoint = Arc::clone(&endpoint);
                let tracker = Arc::clone(&tracker);
                let drain = drain.clone();
                async move {
                    let (head, body) = request.into_parts();
                    let head = RequestParts::from((
                        head,
                        LocalAddr(Addr::SocketAddr(local)),
                        RemoteAddr(Addr::SocketAddr(remote)),
                        Scheme::HTTP,
                    ));
                    let body = if body.is_end_stream() {
                        Body::empty()
                    } else {
                        Body::from(BoxBody::new(TimedBody::new(body, tracker, timeouts.body)))
                    };
                    let request = Request::from_parts(head, body);
                    let mut response: hyper::Response<BoxBody<Bytes, std::io::Error>> =
                        endpoint.get_response(request).await.into();
                    // hyper closes the connection once this answer is written: the client opens a
                    // new one for its next request, which the balancer sends elsewhere.
                    if drain.is_draining() {
                        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, guard)))
                }
            })
        };
        let io = TokioIo::new(Timed::new(stream, Arc::clone(&tracker), timeouts));
        // One buffer per answer, its head and body copied together: an API answer is a few hundred
        // bytes, which one send() takes for less than a writev() of two slices.
        let connection = http1::Builder::new().keep_alive(true).writev(false).serve_connection(io, service);
        tokio::pin!(connection);
        let interrupted = tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                false
            }
            () = tracker.shed_requested() => true,
            _ = stopping.wait_for(|stop| *stop) => true,
        };
        // A connection shed while its request waits for a body that is not coming is closed at
        // once; one serving a request finishes it.
        if interrupted && tracker.is_busy() && !(tracker.was_shed() && tracker.awaits_body()) {
            connection.as_mut().graceful_shutdown();
            if let Err(error) = connection.as_mut().await {
                tracing::debug!(%remote, %error, "connection ended with an error");
            }
        }
        tracker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_server_sheds_the_longest_waiting_connection_and_refuses_when_all_are_busy() {
        let epoch = Instant::now();
        let open = Open::default();
        let first = Arc::new(Tracker::opened(epoch));
        let first_id = open.insert(Arc::clone(&first));
        std::thread::sleep(Duration::from_millis(5));
        let second = Arc::new(Tracker::opened(epoch));
        open.insert(Arc::clone(&second));
        assert!(open.make_room(3), "below the cap");
        assert!(open.make_room(2), "at the cap: the oldest waiting one is shed");
        assert!(first.was_shed() && !second.was_shed());
        assert!(open.make_room(2), "the shed one no longer counts");
        assert!(!second.was_shed());
        assert!(open.make_room(1));
        assert!(second.was_shed(), "the next oldest goes next");
        open.remove(first_id);
        assert_eq!(open.lock().shedding, 1);

        let open = Open::default();
        let busy = Arc::new(Tracker::opened(epoch));
        open.insert(Arc::clone(&busy));
        let _request = busy.request_started();
        assert!(!open.make_room(1), "a connection serving a request is never shed");
        assert!(!busy.was_shed());
    }
}
