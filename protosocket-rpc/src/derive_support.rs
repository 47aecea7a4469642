//! What `#[derive(Message)]` and the code protosocket-build generates call into.
//! Not an API of its own: its items change with the generators. The typed
//! clients' [`CallOptions`] and [`Reply`] are public, re-exported at the crate
//! root.
//!
//! - the derive: [`MetadataField`], [`MetadataEntry`], [`TimeoutField`],
//!   [`status_message`], [`take_status`];
//! - the generated server glue: [`unary_reply`], [`ServerStream`], [`reject`],
//!   [`discard_taken`],
//!   [`Requests`] (re-exported at the crate root: handlers of client-streaming
//!   and bidirectional rpcs take it);
//! - the generated client: [`Transport`], [`ItemStream`], [`status_error`].

use std::fmt;
use std::future::{poll_fn, Future, Ready};
use std::marker::PhantomData;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use futures_core::Stream;
use pin_project_lite::pin_project;
pub use protosocket::{Connect, Endpoint, EndpointConnector};
use protosocket::{Decoder, Encoder};

use crate::client::{RequestSender, RpcClient, RpcPool, StreamingCompletion, UnaryCompletion};
use crate::error::Error;
use crate::message::{ControlCode, Message};
use crate::metadata::{Metadata, MetadataValue};
use crate::server::{RequestStream, Rpc};
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
        // The check inline in every call, the conversion out of line: most
        // calls carry no metadata.
        if self.is_empty() {
            return Metadata::new();
        }
        entries_to_metadata(std::mem::take(self))
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

/// Drops an envelope's metadata entries once they were taken: a vector that
/// never allocated is forgotten, which skips the call a `Vec`'s drop makes to
/// drop its (no) elements.
#[inline]
pub fn discard_taken<E>(entries: Vec<E>) {
    if entries.capacity() == 0 {
        std::mem::forget(entries);
    }
}

/// The metadata of a generated message's entries.
#[inline(never)]
fn entries_to_metadata<E: MetadataEntry>(entries: Vec<E>) -> Metadata {
    entries
        .into_iter()
        .filter_map(MetadataEntry::into_pair)
        .collect()
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
/// message on failure (the connection sets the id); either carries `metadata`,
/// the handler's response metadata, when there is some.
#[inline]
pub fn unary_reply<T, R: Message>(
    outcome: Result<T, Status>,
    metadata: Metadata,
    wrap: impl FnOnce(T) -> R,
) -> R {
    let mut response = match outcome {
        Ok(response) => wrap(response),
        Err(status) => R::with_status(0, status),
    };
    with_metadata(&mut response, metadata);
    response
}

/// Puts `metadata` on `response` unless it is empty.
#[inline]
fn with_metadata<R: Message>(response: &mut R, metadata: Metadata) {
    if !metadata.is_empty() {
        response.set_metadata(metadata);
    }
}

pin_project! {
    /// A streaming handler's responses: each item `wrap`ped; an error becomes a
    /// status message that ends the stream. The handler's response metadata
    /// goes on the first response: the first item, the status, or (for a
    /// stream with neither) an `End` sent as the stream's last message.
    pub struct ServerStream<S, W> {
        #[pin]
        items: Option<S>,
        wrap: W,
        metadata: Metadata,
    }
}

impl<S, W> ServerStream<S, W> {
    /// The responses of `items`, the first one carrying `metadata`.
    pub fn new(items: S, metadata: Metadata, wrap: W) -> Self {
        Self {
            items: Some(items),
            wrap,
            metadata,
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
        let mut response = match items.poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(item))) => (this.wrap)(item),
            Poll::Ready(Some(Err(status))) => {
                // Over: the handler's stream is dropped now, not when the
                // connection drops the rpc.
                this.items.set(None);
                R::with_status(0, status)
            }
            Poll::Ready(None) => {
                this.items.set(None);
                if this.metadata.is_empty() {
                    return Poll::Ready(None);
                }
                // The connection sends a stream's non-`Normal` item as it is
                // and ends the rpc: this `End` carries the metadata.
                R::ended(0)
            }
        };
        if !this.metadata.is_empty() {
            with_metadata(&mut response, std::mem::take(this.metadata));
        }
        Poll::Ready(Some(response))
    }
}

/// The requests of a generated client-streaming or bidirectional rpc, as its
/// handler reads them: each request's body, in the order the client sent them,
/// until the client ends its input (or cancels the call, or the connection
/// ends).
///
/// `T` is the method's input message, `Req` the service's request envelope. A
/// request whose body is not the method's (another method's, or none) is an
/// `Err(INVALID_ARGUMENT)` item, and the last one: the handler may return that
/// status as its outcome with `?`.
///
/// It reads from the connection's bounded request stream: while the handler
/// does not read, the client is held back (see
/// [`RequestStream`](crate::server::RequestStream)). Dropping it discards the
/// requests that still come.
pub struct Requests<T, Req> {
    requests: Option<RequestStream<Req>>,
    extract: fn(Req) -> Result<T, Status>,
}

impl<T, Req> Requests<T, Req> {
    /// The bodies of `requests`, taken out of each envelope by `extract`.
    pub fn new(requests: RequestStream<Req>, extract: fn(Req) -> Result<T, Status>) -> Self {
        Self {
            requests: Some(requests),
            extract,
        }
    }

    /// Requests received and not yet read.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.requests.as_ref().map_or(0, RequestStream::unread)
    }

    /// The next request: `None` once the input ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a request is taken only when the future completes.
    pub async fn next(&mut self) -> Option<Result<T, Status>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<T, Req> Stream for Requests<T, Req> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(requests) = this.requests.as_mut() else {
            return Poll::Ready(None);
        };
        let item = match std::task::ready!(Pin::new(requests).poll_next(cx)) {
            Some(request) => (this.extract)(request),
            None => {
                this.requests = None;
                return Poll::Ready(None);
            }
        };
        if item.is_err() {
            this.requests = None;
        }
        Poll::Ready(Some(item))
    }
}

impl<T, Req> fmt::Debug for Requests<T, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requests")
            .field("requests", &self.requests)
            .finish()
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

/// Where a typed client sends its calls: one connection, or a pool whose
/// connections `K` makes (plain TCP and Unix by default; TLS, say).
pub enum Transport<Req, Resp, C, K = EndpointConnector> {
    /// One connection.
    Client(RpcClient<Req, Resp>),
    /// A pool of connections.
    Pool(RpcPool<Req, Resp, C, K>),
}

impl<Req, Resp, C, K> Clone for Transport<Req, Resp, C, K> {
    fn clone(&self) -> Self {
        match self {
            Transport::Client(client) => Transport::Client(client.clone()),
            Transport::Pool(pool) => Transport::Pool(pool.clone()),
        }
    }
}

impl<Req, Resp, C, K> fmt::Debug for Transport<Req, Resp, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Client(client) => f.debug_tuple("Client").field(client).finish(),
            Transport::Pool(pool) => f.debug_tuple("Pool").field(pool).finish(),
        }
    }
}

/// Opens a call on `$transport`: with the client's (or pool's) default
/// deadline through `$default`, or within `$timeout` (a pool's wait for a
/// connection counting toward it) through `$within`.
macro_rules! open {
    ($transport:ident, $request:ident, $timeout:ident, $default:ident, $within:ident) => {
        match ($transport, $timeout) {
            (Transport::Client(client), None) => Ok(client.$default($request)),
            (Transport::Client(client), timeout) => Ok(client.$within($request, timeout)),
            (Transport::Pool(pool), None) => pool.$default($request).await,
            (Transport::Pool(pool), Some(timeout)) => {
                let started = Instant::now();
                match tokio::time::timeout(timeout, pool.client()).await {
                    Ok(Ok(client)) => {
                        let left = timeout.saturating_sub(started.elapsed());
                        Ok(client.$within($request, Some(left)))
                    }
                    Ok(Err(error)) => Err(error),
                    Err(_) => Err(Error::deadline_exceeded()),
                }
            }
        }
    };
}

impl<Req, Resp, C, K> Transport<Req, Resp, C, K>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
    K: Connect + Send + Sync + 'static,
{
    /// Sends a unary call and takes the method's response out of the envelope
    /// with `extract` (a closure, inlined, or a `fn` pointer, for a
    /// [`UnaryReply`] whose type is named).
    ///
    /// # Errors
    ///
    /// Those of the call; [`status_error`] of `extract`'s status when the
    /// response is not the method's.
    pub fn unary<T, X>(
        &self,
        mut request: Req,
        options: CallOptions,
        extract: X,
    ) -> UnaryReply<'_, Req, Resp, T, X>
    where
        X: Fn(Resp) -> Result<T, Status>,
    {
        let timeout = options.apply(&mut request);
        self.send_unary(request, timeout, extract)
    }

    /// [`unary`](Self::unary) without options: no metadata, the client's
    /// default deadline. The request's metadata and timeout fields are left as
    /// they are (empty, from `Default`, in generated code).
    ///
    /// # Errors
    ///
    /// As [`unary`](Self::unary).
    #[inline]
    pub fn unary_plain<T, X>(&self, request: Req, extract: X) -> UnaryReply<'_, Req, Resp, T, X>
    where
        X: Fn(Resp) -> Result<T, Status>,
    {
        self.send_unary(request, None, extract)
    }

    #[inline]
    fn send_unary<T, X>(
        &self,
        request: Req,
        timeout: Option<Duration>,
        extract: X,
    ) -> UnaryReply<'_, Req, Resp, T, X> {
        // The call is sent now on one connection: only a pool's call is a
        // future that may wait (for a connect) before it sends.
        let call = match (self, timeout) {
            (Transport::Client(client), None) => UnaryCall::Sent {
                completion: client.send_unary(request),
            },
            (Transport::Client(client), timeout) => UnaryCall::Sent {
                completion: client.send_unary_with_deadline(request, timeout),
            },
            // Boxed: the pool's future holds the request and its wait for a
            // connect, and a typed call's future should stay small to move.
            (Transport::Pool(pool), timeout) => UnaryCall::Pooled {
                call: Box::pin(pool.send_unary_with_deadline(
                    request,
                    timeout.or_else(|| pool.default_deadline()),
                )),
            },
        };
        UnaryReply {
            call,
            extract,
            output: PhantomData,
        }
    }

    /// Sends a streaming call; each response's item is taken out of its envelope
    /// with `extract`.
    pub fn streaming<T>(
        &self,
        mut request: Req,
        options: CallOptions,
        extract: fn(Resp) -> Result<T, Status>,
    ) -> ItemStream<Req, Resp, T, impl Future<Output = Opened<Req, Resp>> + Send + 'static> {
        let timeout = options.apply(&mut request);
        let transport = self.clone();
        let start = async move {
            let items = open!(
                transport,
                request,
                timeout,
                send_streaming,
                send_streaming_with_deadline
            )?;
            Ok((None, items))
        };
        ItemStream::new(start, extract)
    }

    /// Sends a client-streaming call: `opening` names the method, each of
    /// `items` follows it `wrap`ped in an envelope, then `End`; the response
    /// is taken out of its envelope with `extract`. The future sends the items
    /// as the call's budget and credit allow while it waits for the response,
    /// and stops sending once the call has ended.
    ///
    /// # Errors
    ///
    /// As [`unary`](Self::unary).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the call.
    pub fn client_streaming<I, T>(
        &self,
        mut opening: Req,
        options: CallOptions,
        items: impl Stream<Item = I> + Send + 'static,
        wrap: fn(I) -> Req,
        extract: fn(Resp) -> Result<T, Status>,
    ) -> impl Future<Output = Result<Reply<T>, Error>> + Send + 'static
    where
        I: Send + 'static,
        T: Send + 'static,
    {
        let timeout = options.apply(&mut opening);
        let transport = self.clone();
        async move {
            let (sender, completion) = open!(
                transport,
                opening,
                timeout,
                send_client_streaming,
                send_client_streaming_with_deadline
            )?;
            let mut completion = pin!(completion);
            let mut feed = pin!(Some(feed(sender, items, wrap)));
            let mut response = poll_fn(|cx| {
                if let Poll::Ready(outcome) = completion.as_mut().poll(cx) {
                    return Poll::Ready(outcome);
                }
                poll_feed(feed.as_mut(), cx);
                Poll::Pending
            })
            .await?;
            let metadata = response.take_metadata();
            let message = extract(response).map_err(status_error)?;
            Ok(Reply { message, metadata })
        }
    }

    /// Sends a bidirectional call: `opening` names the method, each of `items`
    /// follows it `wrap`ped in an envelope, then `End`; each response's item is
    /// taken out of its envelope with `extract`. The stream sends the items as
    /// it is polled, while it waits for responses.
    pub fn bidi<I, T>(
        &self,
        mut opening: Req,
        options: CallOptions,
        items: impl Stream<Item = I> + Send + 'static,
        wrap: fn(I) -> Req,
        extract: fn(Resp) -> Result<T, Status>,
    ) -> impl Stream<Item = Result<T, Error>> + StreamMetadata + Send + 'static
    where
        I: Send + 'static,
        T: Send + 'static,
    {
        let timeout = options.apply(&mut opening);
        let transport = self.clone();
        let start = async move {
            let (sender, responses) = open!(
                transport,
                opening,
                timeout,
                send_bidi,
                send_bidi_with_deadline
            )?;
            Ok((Some(feed(sender, items, wrap)), responses))
        };
        ItemStream::new(start, extract)
    }
}

pin_project! {
    /// A typed client's unary call: the call (sent already on one connection;
    /// on a pool, sent once it has a connection), then the method's response
    /// taken out of its envelope, with the envelope's metadata.
    ///
    /// Dropping it before it completes cancels the call.
    ///
    /// `X` takes the response out of its envelope: a `fn` pointer where the
    /// type is named (the generated `_with` methods), a closure, inlined, where
    /// it is not (the generated methods without options).
    #[must_use = "dropping this future cancels the call"]
    pub struct UnaryReply<'a, Req, Resp, T, X = fn(Resp) -> Result<T, Status>> {
        #[pin]
        call: UnaryCall<'a, Req, Resp>,
        extract: X,
        output: PhantomData<fn() -> T>,
    }
}

pin_project! {
    #[project = UnaryCallProjection]
    enum UnaryCall<'a, Req, Resp> {
        Sent { #[pin] completion: UnaryCompletion<Req, Resp> },
        Pooled { call: Pin<Box<dyn Future<Output = Result<Resp, Error>> + Send + 'a>> },
    }
}

impl<Req, Resp, T, X> UnaryReply<'_, Req, Resp, T, X> {
    /// The response alone, without its metadata.
    pub fn unwrapped(self) -> Unwrapped<Self> {
        Unwrapped { reply: self }
    }
}

impl<Req, Resp: Message, T, X> Future for UnaryReply<'_, Req, Resp, T, X>
where
    X: Fn(Resp) -> Result<T, Status>,
{
    type Output = Result<Reply<T>, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = match this.call.project() {
            UnaryCallProjection::Sent { completion } => completion.poll(cx),
            UnaryCallProjection::Pooled { call } => call.as_mut().poll(cx),
        };
        let mut response = match outcome {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        };
        let metadata = response.take_metadata();
        Poll::Ready(
            (this.extract)(response)
                .map(|message| Reply { message, metadata })
                .map_err(status_error),
        )
    }
}

impl<Req, Resp, T, X> fmt::Debug for UnaryReply<'_, Req, Resp, T, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnaryReply").finish_non_exhaustive()
    }
}

pin_project! {
    /// A typed client's unary call resolving to the response alone (the
    /// generated method without `_with`).
    #[must_use = "dropping this future cancels the call"]
    pub struct Unwrapped<F> {
        #[pin]
        reply: F,
    }
}

impl<T, F: Future<Output = Result<Reply<T>, Error>>> Future for Unwrapped<F> {
    type Output = Result<T, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project()
            .reply
            .poll(cx)
            .map(|outcome| outcome.map(Reply::into_inner))
    }
}

impl<F> fmt::Debug for Unwrapped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unwrapped").finish_non_exhaustive()
    }
}

/// Sends each of `items`, `wrap`ped, on `sender`, then ends the input; stops
/// early when the call's input side is over.
async fn feed<I, Req, Resp>(
    mut sender: RequestSender<Req, Resp>,
    items: impl Stream<Item = I>,
    wrap: fn(I) -> Req,
) {
    let mut items = pin!(items);
    while let Some(item) = poll_fn(|cx| items.as_mut().poll_next(cx)).await {
        if sender.send(wrap(item)).await.is_err() {
            return;
        }
    }
    sender.finish().await;
}

/// Polls a call's feed of requests, dropping it once it is done.
fn poll_feed<G: Future<Output = ()>>(mut feed: Pin<&mut Option<G>>, cx: &mut Context<'_>) {
    if let Some(running) = feed.as_mut().as_pin_mut() {
        if running.poll(cx).is_ready() {
            feed.set(None);
        }
    }
}

/// A streaming call once open: the feed of its requests, if it takes any, and
/// its responses.
pub type Opened<Req, Resp, G = Ready<()>> =
    Result<(Option<G>, StreamingCompletion<Req, Resp>), Error>;

pin_project! {
    /// A typed client's stream: the call's start (a pool may wait for a
    /// connection), then each response's item, while the feed of its requests
    /// (a bidirectional call's) is polled beside them.
    pub struct ItemStream<Req, Resp, T, F, G = Ready<()>> {
        #[pin]
        start: Option<F>,
        #[pin]
        feed: Option<G>,
        items: Option<StreamingCompletion<Req, Resp>>,
        extract: fn(Resp) -> Result<T, Status>,
        metadata: Metadata,
    }
}

impl<Req, Resp, T, F, G> ItemStream<Req, Resp, T, F, G> {
    fn new(start: F, extract: fn(Resp) -> Result<T, Status>) -> Self {
        Self {
            start: Some(start),
            feed: None,
            items: None,
            extract,
            metadata: Metadata::new(),
        }
    }
}

/// The response metadata of a streaming call made with a generated client:
/// what the server put on the stream's first item. It is empty until that item
/// has arrived, and when the server sent none; metadata the server put on an
/// `End` or a status (a stream with no items) is not kept.
///
/// ```ignore
/// use protosocket_rpc::StreamMetadata;
///
/// let mut entries = Box::pin(client.scan_with(request, CallOptions::new()));
/// let first = entries.next().await;
/// let served_by = entries.metadata().text("served-by");
/// ```
pub trait StreamMetadata {
    /// The metadata of the stream's first item; empty before it arrived.
    fn metadata(&self) -> &Metadata;
}

impl<Req, Resp, T, F, G> StreamMetadata for ItemStream<Req, Resp, T, F, G> {
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}

impl<Req, Resp, T, F, G> fmt::Debug for ItemStream<Req, Resp, T, F, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("started", &self.start.is_none())
            .field("feeding", &self.feed.is_some())
            .field("items", &self.items)
            .finish()
    }
}

impl<Req, Resp: Message, T, F, G> Stream for ItemStream<Req, Resp, T, F, G>
where
    F: Future<Output = Opened<Req, Resp, G>>,
    G: Future<Output = ()>,
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
                Ok((feed, items)) => {
                    this.feed.set(feed);
                    *this.items = Some(items);
                }
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
        }
        poll_feed(this.feed.as_mut(), cx);
        let Some(items) = this.items.as_mut() else {
            return Poll::Ready(None);
        };
        let item = match Pin::new(items).poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => None,
            Poll::Ready(Some(Ok(mut response))) => {
                if this.metadata.is_empty() {
                    *this.metadata = response.take_metadata();
                }
                match (this.extract)(response) {
                    Ok(item) => return Poll::Ready(Some(Ok(item))),
                    Err(status) => Some(Err(status_error(status))),
                }
            }
            Poll::Ready(Some(Err(error))) => Some(Err(error)),
        };
        // Over: dropping the completion of a stream that failed on our side
        // (a response of another method) cancels it on the server, and the
        // feed stops sending.
        *this.items = None;
        this.feed.set(None);
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
