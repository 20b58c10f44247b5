//! One client connection: what it is doing now, and the deadlines that close it when it stalls.
//!
//! A connection is always in one [`Phase`]. [`Timed`] wraps its socket and enforces the deadline
//! of the phase whenever hyper waits to read:
//!
//! | phase | deadline | when it passes |
//! | --- | --- | --- |
//! | opened, nothing received | header timeout from the accept | closed |
//! | a request's head is arriving | header timeout from its first byte (from the accept for the first request) | 408, closed |
//! | a request is being served, its body still arriving | body timeout from the end of its head | 408, closed |
//! | a request is being served | none | — |
//! | idle between requests | idle timeout from the end of the last response | closed |
//!
//! The body's deadline is kept by [`TimedBody`], which wraps the body the routes read. The
//! server reads the same state to pick the connection to shed when it is full: one waiting for
//! a request, for its head, or for the rest of a body.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker, ready},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use poem::http::StatusCode;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Notify,
    time::Sleep,
};

use super::errors::closing_response;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Accepted; no byte received yet.
    Opened = 0,
    /// A request's head is arriving.
    ReadingHead = 1,
    /// At least one request is being served.
    Busy = 2,
    /// Kept alive, waiting for the next request.
    Idle = 3,
}

impl Phase {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Phase::Opened,
            1 => Phase::ReadingHead,
            2 => Phase::Busy,
            _ => Phase::Idle,
        }
    }
}

/// Why a deadline closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Closed {
    /// The head of a request did not arrive within the header timeout.
    HeaderTimeout,
    /// No request came within the idle timeout.
    IdleTimeout,
    /// A request's body did not arrive within the body timeout.
    BodyTimeout,
}

/// The state of one connection, shared by its socket, its service and the server.
#[derive(Debug)]
pub struct Tracker {
    epoch: Instant,
    phase: AtomicU8,
    /// Milliseconds from `epoch` to when the phase's deadline started counting.
    since: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds from `epoch`, plus one, to the end of the head of a request whose body is
    /// still arriving; 0 when no body is awaited.
    body_since: AtomicU64,
    shed: AtomicBool,
    shed_signal: Notify,
    /// 0 while open; else `Closed as u8 + 1`.
    closed: AtomicU8,
    /// The read that found the connection serving, woken when the request ends so the idle
    /// deadline is armed even if no byte arrives.
    parked_read: Mutex<Option<Waker>>,
}

impl Tracker {
    /// A connection accepted now; `epoch` is the server's clock origin.
    pub fn opened(epoch: Instant) -> Self {
        let tracker = Tracker {
            epoch,
            phase: AtomicU8::new(Phase::Opened as u8),
            since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            body_since: AtomicU64::new(0),
            shed: AtomicBool::new(false),
            shed_signal: Notify::new(),
            closed: AtomicU8::new(0),
            parked_read: Mutex::new(None),
        };
        tracker.since.store(tracker.now(), Ordering::Relaxed);
        tracker
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Whether a request is being served.
    pub fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Whether a request is being served whose body has not all arrived.
    pub fn awaits_body(&self) -> bool {
        self.body_since.load(Ordering::Acquire) != 0
    }

    /// When the connection last started waiting — for a request, its head, or the rest of its
    /// body — when it is waiting and has not been shed already; the server sheds the one waiting
    /// the longest.
    pub fn waiting_since(&self) -> Option<u64> {
        if self.shed.load(Ordering::Acquire) {
            return None;
        }
        if !self.is_busy() {
            return Some(self.since.load(Ordering::Acquire));
        }
        self.body_since.load(Ordering::Acquire).checked_sub(1)
    }

    /// Asks the connection to close to make room for a new one.
    pub fn shed(&self) {
        self.shed.store(true, Ordering::Release);
        self.shed_signal.notify_one();
    }

    /// Completes when [`Tracker::shed`] is called.
    pub async fn shed_requested(&self) {
        self.shed_signal.notified().await;
    }

    /// Why the service closed the connection, if a deadline did.
    pub fn closed(&self) -> Option<Closed> {
        match self.closed.load(Ordering::Acquire) {
            1 => Some(Closed::HeaderTimeout),
            2 => Some(Closed::IdleTimeout),
            3 => Some(Closed::BodyTimeout),
            _ => None,
        }
    }

    /// A request's head was read and its body is still to come.
    fn body_started(&self) {
        self.body_since.store(self.now() + 1, Ordering::Release);
    }

    /// The awaited body arrived whole, failed, or is no longer read.
    fn body_ended(&self) {
        self.body_since.store(0, Ordering::Release);
    }

    /// Whether the connection was asked to close to make room.
    pub fn was_shed(&self) -> bool {
        self.shed.load(Ordering::Acquire)
    }

    /// Bytes arrived: an opened or idle connection now reads a request's head.
    fn received(&self) {
        match self.phase() {
            Phase::Opened => self.phase.store(Phase::ReadingHead as u8, Ordering::Release),
            Phase::Idle => {
                self.since.store(self.now(), Ordering::Release);
                self.phase.store(Phase::ReadingHead as u8, Ordering::Release);
            }
            Phase::ReadingHead | Phase::Busy => {}
        }
    }

    /// hyper parsed a request's head and calls the service; the guard ends the request when the
    /// response body is dropped (fully written, or the connection closed).
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.phase.store(Phase::Busy as u8, Ordering::Release);
        RequestGuard { tracker: Arc::clone(self) }
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.since.store(self.now(), Ordering::Release);
            self.phase.store(Phase::Idle as u8, Ordering::Release);
            if let Some(waker) = self.parked_read.lock().unwrap_or_else(PoisonError::into_inner).take() {
                waker.wake();
            }
        }
    }

    fn park_read(&self, waker: &Waker) {
        let mut parked = self.parked_read.lock().unwrap_or_else(PoisonError::into_inner);
        if !parked.as_ref().is_some_and(|parked| parked.will_wake(waker)) {
            *parked = Some(waker.clone());
        }
    }

    /// The deadline of the current phase, and what passing it means; none while serving.
    fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, Closed, Phase)> {
        let phase = self.phase();
        let (timeout, closed) = match phase {
            Phase::Opened | Phase::ReadingHead => (timeouts.header, Closed::HeaderTimeout),
            Phase::Idle => (timeouts.idle, Closed::IdleTimeout),
            Phase::Busy => return None,
        };
        let since = Duration::from_millis(self.since.load(Ordering::Acquire));
        Some((self.epoch + since + timeout, closed, phase))
    }
}

/// Ends a request on drop.
#[derive(Debug)]
pub struct RequestGuard {
    tracker: Arc<Tracker>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.tracker.request_finished();
    }
}

/// A response body that ends its request when dropped.
pub struct TrackedBody<B> {
    inner: B,
    _guard: RequestGuard,
}

impl<B> TrackedBody<B> {
    /// `inner`, ending the request of `guard` when dropped.
    pub fn new(inner: B, guard: RequestGuard) -> Self {
        TrackedBody { inner, _guard: guard }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The header, body and idle timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Time to send a request's head.
    pub header: Duration,
    /// Time to send a request's body, from the end of its head.
    pub body: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle: Duration,
}

/// A request body that did not arrive within the body timeout: the route reading it fails, and
/// the answer is 408.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body was not received within {}", humantime::format_duration(*timeout))]
pub struct BodyTimedOut {
    /// The body timeout.
    pub timeout: Duration,
}

/// The body of a request, as the routes read it: its connection awaits it until it ends, and
/// reading it fails with [`BodyTimedOut`] once the body timeout has passed since the head.
pub struct TimedBody {
    inner: hyper::body::Incoming,
    tracker: Arc<Tracker>,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
    ended: bool,
}

impl TimedBody {
    /// The body of a request on the connection of `tracker` whose head has just been read.
    pub fn new(inner: hyper::body::Incoming, tracker: Arc<Tracker>, timeout: Duration) -> Self {
        tracker.body_started();
        let deadline = Box::pin(tokio::time::sleep(timeout));
        TimedBody { inner, tracker, deadline, timeout, ended: false }
    }

    fn end(&mut self) {
        if !std::mem::replace(&mut self.ended, true) {
            self.tracker.body_ended();
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(error))) => {
                self.end();
                Poll::Ready(Some(Err(io::Error::other(error))))
            }
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Pending => {
                ready!(self.deadline.as_mut().poll(cx));
                self.end();
                self.tracker.closed.store(Closed::BodyTimeout as u8 + 1, Ordering::Release);
                let timed_out = BodyTimedOut { timeout: self.timeout };
                Poll::Ready(Some(Err(io::Error::new(io::ErrorKind::TimedOut, timed_out))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for TimedBody {
    fn drop(&mut self) {
        self.end();
    }
}

/// A socket whose reads end when the connection's deadline passes.
pub struct Timed {
    stream: TcpStream,
    tracker: Arc<Tracker>,
    timeouts: Timeouts,
    timer: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
}

impl Timed {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream, tracker: Arc<Tracker>, timeouts: Timeouts) -> Self {
        Timed { stream, tracker, timeouts, timer: Box::pin(tokio::time::sleep(Duration::ZERO)), armed_for: None }
    }

    /// Ends the read: end of stream for a connection with no request under way, 408 then an
    /// error for one whose head stalled.
    fn expire(&mut self, closed: Closed, phase: Phase) -> Poll<io::Result<()>> {
        self.tracker.closed.store(closed as u8 + 1, Ordering::Release);
        if phase != Phase::ReadingHead {
            return Poll::Ready(Ok(()));
        }
        // Best effort: a fresh socket's send buffer takes these few bytes without waiting.
        let _ = self.stream.try_write(&request_timeout_response(self.timeouts.header));
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the request head did not arrive in time")))
    }
}

/// The 408 sent when a request's head stalls; the connection closes after it.
fn request_timeout_response(header_timeout: Duration) -> Vec<u8> {
    let description =
        format!("the request head was not received within {}", humantime::format_duration(header_timeout));
    closing_response(
        StatusCode::REQUEST_TIMEOUT,
        &[],
        poem_jwt_resource_server::ErrorCode::RequestTimeout,
        &description,
    )
}

impl AsyncRead for Timed {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let filled = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > filled {
                    self.tracker.received();
                }
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => {}
        }
        let Some((deadline, closed, phase)) = self.tracker.deadline(&self.timeouts) else {
            self.tracker.park_read(cx.waker());
            return Poll::Pending;
        };
        // The timer is moved only when the deadline comes earlier: a kept-alive connection pushes
        // its deadline back on every request, and finds it not yet due when the timer fires.
        loop {
            if self.armed_for.is_none_or(|armed| armed > deadline) {
                self.timer.as_mut().reset(deadline.into());
                self.armed_for = Some(deadline);
            }
            ready!(self.timer.as_mut().poll(cx));
            if Instant::now() >= deadline {
                return self.expire(closed, phase);
            }
            self.armed_for = None;
        }
    }
}

impl AsyncWrite for Timed {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phases_follow_a_keep_alive_connection() {
        let tracker = Arc::new(Tracker::opened(Instant::now()));
        let timeouts =
            Timeouts { header: Duration::from_secs(10), body: Duration::from_secs(10), idle: Duration::from_secs(60) };
        assert_eq!(tracker.phase(), Phase::Opened);
        assert_eq!(tracker.deadline(&timeouts).map(|(_, closed, _)| closed), Some(Closed::HeaderTimeout));
        tracker.received();
        assert_eq!(tracker.phase(), Phase::ReadingHead);
        let guard = tracker.request_started();
        assert!(tracker.deadline(&timeouts).is_none(), "no deadline while serving");
        assert!(tracker.waiting_since().is_none(), "a busy connection is never shed");
        drop(guard);
        assert_eq!(tracker.phase(), Phase::Idle);
        assert_eq!(tracker.deadline(&timeouts).map(|(_, closed, _)| closed), Some(Closed::IdleTimeout));
        tracker.shed();
        assert!(tracker.waiting_since().is_none(), "a connection is shed once");
    }

    #[test]
    fn a_connection_awaiting_a_body_is_waiting_though_busy() {
        let tracker = Arc::new(Tracker::opened(Instant::now()));
        tracker.received();
        let _request = tracker.request_started();
        assert!(tracker.waiting_since().is_none(), "serving");
        tracker.body_started();
        assert!(tracker.awaits_body());
        assert!(tracker.waiting_since().is_some(), "a stalled body can be shed like an idle connection");
        tracker.body_ended();
        assert!(tracker.waiting_since().is_none() && !tracker.awaits_body());
    }

    #[test]
    fn the_408_is_json_and_closes_the_connection() {
        let response = String::from_utf8(request_timeout_response(Duration::from_secs(10))).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        assert!(head.ends_with("connection: close"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "request_timeout");
        assert_eq!(body["error_description"], "the request head was not received within 10s");
    }
}
