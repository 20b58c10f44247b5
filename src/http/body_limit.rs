//! Request bodies larger than the limit get 413 without being read: at once when
//! `Content-Length` says so, or as soon as a body sent without a length (chunked) goes past it.

use std::{
    error::Error as StdError,
    io,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use poem::{
    Body, Endpoint, Middleware, Request, Response, Result,
    error::ResponseError,
    http::{StatusCode, header},
};

use super::errors::json_error;

/// A request body over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct ContentTooLarge {
    /// The limit, in bytes.
    pub limit: u64,
}

impl ResponseError for ContentTooLarge {
    fn status(&self) -> StatusCode {
        StatusCode::PAYLOAD_TOO_LARGE
    }

    fn as_response(&self) -> Response {
        json_error(self.status(), poem_jwt_resource_server::ErrorCode::ContentTooLarge, &self.to_string())
    }
}

/// The limit found behind a body-reading error, when reading stopped at it.
pub fn content_too_large(error: &poem::Error) -> Option<ContentTooLarge> {
    body_read_cause(error).copied()
}

/// The error of type `T` that made reading the request body fail, if one did.
///
/// poem wraps the body's error twice in `io::Error` (`ReadBodyError::Io`), so the chain is
/// followed through `io::Error::get_ref` as well as `source`.
pub fn body_read_cause<T: StdError + 'static>(error: &poem::Error) -> Option<&T> {
    let mut next: Option<&(dyn StdError + 'static)> =
        error.downcast_ref::<poem::error::ReadBodyError>().map(|e| e as _);
    while let Some(error) = next {
        if let Some(cause) = error.downcast_ref::<T>() {
            return Some(cause);
        }
        next = match error.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => error.source(),
        };
    }
    None
}

/// Middleware enforcing the body limit.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    limit: u64,
}

impl BodyLimit {
    /// Bodies of at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        BodyLimit { limit }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, limit: self.limit }
    }
}

/// The endpoint produced by [`BodyLimit`].
pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: u64,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared: Option<u64> =
            req.headers().get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse().ok());
        match declared {
            Some(length) if length > self.limit => return Err(ContentTooLarge { limit: self.limit }.into()),
            Some(_) => {}
            None => {
                let body = req.take_body();
                // Most requests (every GET) have no body: theirs is put back as it is, without a wrapper.
                if body.is_empty() {
                    req.set_body(body);
                } else {
                    let inner: BoxBody<Bytes, io::Error> = body.into();
                    let limited = Limited { inner, left: self.limit, limit: self.limit };
                    req.set_body(Body::from(BoxBody::new(limited)));
                }
            }
        }
        self.inner.call(req).await
    }
}

/// A body that fails with [`ContentTooLarge`] once more than `limit` bytes have arrived.
struct Limited {
    inner: BoxBody<Bytes, io::Error>,
    left: u64,
    limit: u64,
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
            match self.left.checked_sub(size) {
                Some(left) => self.left = left,
                None => return Poll::Ready(Some(Err(io::Error::other(ContentTooLarge { limit: self.limit })))),
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
