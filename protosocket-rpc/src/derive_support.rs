//! What `#[derive(Message)]` and the code protosocket-build generates call into.
//! Not an API of its own: its items change with the generators. The typed
//! clients' [`CallOptions`] and [`Reply`] are public, re-exported at the crate
//! root.
//!
//! - the derive: [`MetadataField`], [`MetadataEntry`], [`TimeoutField`],
//!   [`status_message`], [`take_status`];
//! - the generated server glue: [`unary_reply`], [`ServerStream`], [`reject`];
//! - the generated client: [`Transport`], [`ItemStream`], [`status_error`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use futures_core::Stream;
use pin_project_lite::pin_project;
pub use protosocket::Endpoint;
use protosocket::{Decoder, Encoder};

use crate::client::{RpcClient, RpcPool, StreamingCompletion};
use crate::error::Error;
use crate::message::{ControlCode, Message};
use crate::metadata::{Metadata, MetadataValue};
use crate::server::Rpc;
use crate::status::{Status, StatusCode};

/// A message field that holds metadata: [`Metadata`] itself, or a vector of
/// generated protobuf entries.
pub trait MetadataField {
    /// The metadata, taken out of the field (which is left empty).
    fn take_metadata(&mut self) -> Metadata;
    /// Replaces the field's metadata.
    fn set_metadata(&mut self, metadata: Metadata);
}

impl MetadataField for Metadata {
    #[inline]
    fn take_metadata(&mut self) -> Metadata {
        std::mem::take(self)
    }

    #[inline]
    fn set_metadata(&mut self, metadata: Metadata) {
        *self = metadata;
    }
}

/// One metadata entry of a generated message: a key and a text or bytes value.
pub trait MetadataEntry {
    /// An entry for `key` and `value`.
    fn from_pair(key: String, value: MetadataValue) -> Self;
    /// The key and value; `None` for an entry that arrived without a value.
    fn into_pair(self) -> Option<(String, MetadataValue)>;
}

impl<E: MetadataEntry> MetadataField for Vec<E> {
    #[inline]
    fn take_metadata(&mut self) -> Metadata {
        if self.is_empty() {
            return Metadata::new();
        }
        std::mem::take(self)
            .into_iter()
            .filter_map(MetadataEntry::into_pair)
            .collect()
    }

    #[inline]
    fn set_metadata(&mut self, metadata: Metadata) {
        self.clear();
        self.extend(
            metadata
                .into_iter()
                .map(|(key, value)| E::from_pair(key.into_owned(), value)),
        );
    }
}

/// A message field that holds the time the caller gives the call.
pub trait TimeoutField {
    /// The timeout; `None` when there is none.
    fn timeout(&self) -> Option<Duration>;
    /// Sets the timeout.
    fn set_timeout(&mut self, timeout: Option<Duration>);
}

/// Microseconds, 0 for none: what the generated envelopes carry. A timeout
/// under a microsecond is sent as one (it is not "none"), one too large for a
/// `u64` as the largest.
impl TimeoutField for u64 {
    #[inline]
    fn timeout(&self) -> Option<Duration> {
        (*self != 0).then(|| Duration::from_micros(*self))
    }

    #[inline]
    fn set_timeout(&mut self, timeout: Option<Duration>) {
        *self = match timeout {
            None => 0,
            Some(timeout) => u64::try_from(timeout.as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        };
    }
}

impl TimeoutField for Option<Duration> {
    #[inline]
    fn timeout(&self) -> Option<Duration> {
        *self
    }

    #[inline]
    fn set_timeout(&mut self, timeout: Option<Duration>) {
        *self = timeout;
    }
}

/// A status's message, for a `String` field.
#[must_use]
pub fn status_message(status: Status) -> String {
    status.into_message().into_owned()
}

/// The status in a message's status fields, taken out of them: present when the
/// control code is [`Status`](ControlCode::Status) or a status code is set.
pub fn take_status(
    code: ControlCode,
    status_code: &mut u32,
    message: &mut String,
) -> Option<Status> {
    if code != ControlCode::Status && *status_code == 0 {
        return None;
    }
    let code = StatusCode::from_u32(std::mem::take(status_code));
    Some(Status::new(code, std::mem::take(message)))
}

/// The client's error for a call that failed with `status`.
#[must_use]
pub fn status_error(status: Status) -> Error {
    Error::Status(status)
}

/// The server's refusal of a request, with the reason.
#[must_use]
pub fn reject<U, S>(id: u64, status: Status) -> Rpc<U, S> {
    tracing::debug!(id, %status, "rejecting an rpc");
    Rpc::Reject(status)
}

/// The response of a unary handler's outcome: `wrap`ped on success, a status
/// message on failure (the connection sets the id).
#[inline]
pub fn unary_reply<T, R: Message>(outcome: Result<T, Status>, wrap: impl FnOnce(T) -> R) -> R {
    match outcome {
        Ok(response) => wrap(response),
        Err(status) => R::with_status(0, status),
    }
}

pin_project! {
    /// A streaming handler's responses: each item `wrap`ped; an error becomes a
    /// status message that ends the stream.
    pub struct ServerStream<S, W> {
        #[pin]
        items: Option<S>,
        wrap: W,
    }
}

impl<S, W> ServerStream<S, W> {
    /// The responses of `items`.
    pub fn new(items: S, wrap: W) -> Self {
        Self {
            items: Some(items),
            wrap,
        }
    }
}

impl<S, W, T, R> Stream for ServerStream<S, W>
where
    S: Stream<Item = Result<T, Status>>,
    W: FnMut(T) -> R,
    R: Message,
{
    type Item = R;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R>> {
        let mut this = self.project();
        let Some(items) = this.items.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        match items.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(item))) => Poll::Ready(Some((this.wrap)(item))),
            Poll::Ready(Some(Err(status))) => {
                // Over: the handler's stream is dropped now, not when the
                // connection drops the rpc.
                this.items.set(None);
                Poll::Ready(Some(R::with_status(0, status)))
            }
            Poll::Ready(None) => {
                this.items.set(None);
                Poll::Ready(None)
            }
        }
    }
}

/// What a typed client call carries besides its request: metadata and a
/// deadline.
///
/// ```
/// use std::time::Duration;
/// use protosocket_rpc::CallOptions;
///
/// let options = CallOptions::new()
///     .metadata("trace-id", "4bf92f35")
///     .timeout(Duration::from_millis(250));
/// assert_eq!(options.get_metadata().text("trace-id"), Some("4bf92f35"));
/// assert_eq!(options.get_timeout(), Some(Duration::from_millis(250)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    metadata: Metadata,
    timeout: Option<Duration>,
}

impl CallOptions {
    /// No metadata, and the client's default deadline.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata entry to the request.
    #[must_use]
    pub fn metadata(
        mut self,
        key: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<MetadataValue>,
    ) -> Self {
        self.metadata.insert(key, value);
        self
    }

    /// Sends `metadata` with the request (replacing entries added before).
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The call's deadline, counted from when it is made; the server is told the
    /// time left. Without it the client's configured default deadline applies
    /// (and the server is not told one).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The metadata to send.
    #[must_use]
    pub fn get_metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The deadline, if one was set.
    #[must_use]
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Puts the options on `request`; the deadline to wait for.
    fn apply<M: Message>(self, request: &mut M) -> Option<Duration> {
        if !self.metadata.is_empty() {
            request.set_metadata(self.metadata);
        }
        request.set_timeout(self.timeout);
        self.timeout
    }
}

/// A typed client's response and the metadata that came with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply<T> {
    message: T,
    metadata: Metadata,
}

impl<T> Reply<T> {
    /// The response.
    #[must_use]
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The response metadata.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The response, without the metadata.
    #[must_use]
    pub fn into_inner(self) -> T {
        self.message
    }

    /// The response and its metadata.
    #[must_use]
    pub fn into_parts(self) -> (T, Metadata) {
        (self.message, self.metadata)
    }
}

/// Where a typed client sends its calls: one connection, or a pool.
pub enum Transport<Req, Resp, C> {
    /// One connection.
    Client(RpcClient<Req, Resp>),
    /// A pool of connections.
    Pool(RpcPool<Req, Resp, C>),
}

impl<Req, Resp, C> Clone for Transport<Req, Resp, C> {
    fn clone(&self) -> Self {
        match self {
            Transport::Client(client) => Transport::Client(client.clone()),
            Transport::Pool(pool) => Transport::Pool(pool.clone()),
        }
    }
}

impl<Req, Resp, C> fmt::Debug for Transport<Req, Resp, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Client(client) => f.debug_tuple("Client").field(client).finish(),
            Transport::Pool(pool) => f.debug_tuple("Pool").field(pool).finish(),
        }
    }
}

impl<Req, Resp, C> Transport<Req, Resp, C>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
{
    /// Sends a unary call and takes the method's response out of the envelope
    /// with `extract`.
    ///
    /// # Errors
    ///
    /// Those of the call; [`status_error`] of `extract`'s status when the
    /// response is not the method's.
    pub async fn unary<T>(
        &self,
        mut request: Req,
        options: CallOptions,
        extract: fn(Resp) -> Result<T, Status>,
    ) -> Result<Reply<T>, Error> {
        let timeout = options.apply(&mut request);
        let mut response = match (self, timeout) {
            (Transport::Client(client), None) => client.send_unary(request).await?,
            (Transport::Client(client), timeout) => {
                client.send_unary_with_deadline(request, timeout).await?
            }
            (Transport::Pool(pool), None) => pool.send_unary(request).await?,
            (Transport::Pool(pool), timeout) => {
                pool.send_unary_with_deadline(request, timeout).await?
            }
        };
        let metadata = response.take_metadata();
        let message = extract(response).map_err(status_error)?;
        Ok(Reply { message, metadata })
    }

    /// Sends a streaming call; each response's item is taken out of its envelope
    /// with `extract`.
    pub fn streaming<T>(
        &self,
        mut request: Req,
        options: CallOptions,
        extract: fn(Resp) -> Result<T, Status>,
    ) -> ItemStream<
        Req,
        Resp,
        T,
        impl Future<Output = Result<StreamingCompletion<Req, Resp>, Error>> + Send + 'static,
    > {
        let timeout = options.apply(&mut request);
        let transport = self.clone();
        let start = async move {
            match (transport, timeout) {
                (Transport::Client(client), None) => Ok(client.send_streaming(request)),
                (Transport::Client(client), timeout) => {
                    Ok(client.send_streaming_with_deadline(request, timeout))
                }
                (Transport::Pool(pool), None) => pool.send_streaming(request).await,
                (Transport::Pool(pool), Some(timeout)) => {
                    let started = Instant::now();
                    let client = tokio::time::timeout(timeout, pool.client())
                        .await
                        .unwrap_or_else(|_| Err(Error::deadline_exceeded()))?;
                    let left = timeout.saturating_sub(started.elapsed());
                    Ok(client.send_streaming_with_deadline(request, Some(left)))
                }
            }
        };
        ItemStream {
            start: Some(start),
            items: None,
            extract,
        }
    }
}

pin_project! {
    /// A typed client's stream: the call's start (a pool may wait for a
    /// connection), then each response's item.
    pub struct ItemStream<Req, Resp, T, F> {
        #[pin]
        start: Option<F>,
        items: Option<StreamingCompletion<Req, Resp>>,
        extract: fn(Resp) -> Result<T, Status>,
    }
}

impl<Req, Resp, T, F> fmt::Debug for ItemStream<Req, Resp, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("started", &self.start.is_none())
            .field("items", &self.items)
            .finish()
    }
}

impl<Req, Resp, T, F> Stream for ItemStream<Req, Resp, T, F>
where
    F: Future<Output = Result<StreamingCompletion<Req, Resp>, Error>>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if let Some(start) = this.start.as_mut().as_pin_mut() {
            let started = match start.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(started) => started,
            };
            this.start.set(None);
            match started {
                Ok(items) => *this.items = Some(items),
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
        }
        let Some(items) = this.items.as_mut() else {
            return Poll::Ready(None);
        };
        let item = match Pin::new(items).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => None,
            Poll::Ready(Some(Ok(response))) => match (this.extract)(response) {
                Ok(item) => return Poll::Ready(Some(Ok(item))),
                Err(status) => Some(Err(status_error(status))),
            },
            Poll::Ready(Some(Err(error))) => Some(Err(error)),
        };
        // Over: dropping the completion of a stream that failed on our side
        // (a response of another method) cancels it on the server.
        *this.items = None;
        Poll::Ready(item)
    }
}

/// The status a call's error reports, if it is a failure the server (or the
/// client's rpc layer) described with one.
#[must_use]
pub fn error_status(error: &Error) -> Option<Status> {
    match error {
        Error::Status(status) => Some(status.clone()),
        _ => None,
    }
}
