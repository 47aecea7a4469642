//! The client: [`RpcClient`] handles and the [`ClientConnection`] they feed.

mod call_table;
mod cell;
mod completion;
mod config;
mod connect_hook;
mod hook_gate;
mod pool;
mod reactor;
mod upload;

pub use completion::{StreamingCompletion, UnaryCompletion};
pub use config::RpcClientConfig;
pub use connect_hook::ConnectHook;
pub use pool::{PoolConfig, RpcPool};
pub use reactor::{ClientOutbound, RpcClientReactor};
pub use upload::RequestSender;

/// A request a [`RequestSender`] did not send because the call's input side is
/// over (the call ended, or its connection closed); it hands the request back.
pub use spillway::SendError;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use protosocket::{CloseReason, Connect, Connection, Decoder, Encoder, Endpoint};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::Error;
use crate::health::HealthStatus;
use crate::hook::{Hook, HookFuture, Hooked};
use crate::message::speaks_credit;
use crate::message::Message;
use crate::metadata::Metadata;
use crate::status::Status;
use crate::stream_buffer::stream_buffer;
use cell::UnarySender;
use completion::{CallGuard, CallShared, Deadline, Submit};
use hook_gate::HookGate;
use reactor::{CompletionSender, ConnectionShared};
use upload::Upload;

/// How long a health check waits for its answer when the client has no
/// default deadline.
const HEALTH_CHECK_DEADLINE: Duration = Duration::from_secs(5);

/// The client's per-call hook: it sees each request's [`Metadata`] before the
/// request is queued, and may add to it or fail the call unsent (see [`Hook`]).
pub type CallHook = Hook<Metadata>;

/// A handle for making calls on one connection.
///
/// Cheap to clone; clones share the connection, and each clone queues into a lane
/// of its own, so clones on different threads do not contend. It is `Send + Sync`
/// when the messages are `Send`. The connection closes once every handle and every
/// unfinished call is gone.
///
/// # Backpressure
///
/// Calls go through a bounded queue (`max_queued_outbound_messages` per lane).
/// When it is full, a call's future (or stream) waits for room before sending;
/// the call's deadline counts that wait too.
pub struct RpcClient<Req, Resp> {
    sender: spillway::Sender<ClientOutbound<Req, Resp>>,
    /// What every call's guard holds: one reference count per call instead of a
    /// sender clone of its own.
    shared: Arc<CallShared<Req, Resp>>,
    default_deadline: Option<Duration>,
    call_hook: Option<CallHook>,
    /// Responses a streaming call buffers; requests a sender may queue.
    stream_buffer: usize,
    send_budget: usize,
    /// Both message types carry credit: streaming calls flow by credit with a
    /// server that speaks it.
    by_credit: bool,
}

impl<Req, Resp> RpcClient<Req, Resp>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
{
    /// A client over any connected stream, and the connection future that carries
    /// its calls: spawn it (or poll it yourself, on a `LocalSet` say). Calls made
    /// before it runs are queued and wait for it; calls made after it was dropped
    /// fail with [`Error::ConnectionClosed`] ([`CloseReason::Dropped`]).
    pub fn over_stream<S, C>(
        stream: S,
        codec: C,
        config: &RpcClientConfig,
    ) -> (Self, ClientConnection<S, C>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
        C: Encoder<Message = Req> + Decoder<Message = Resp>,
    {
        let (sender, outbound) = config.connection.outbound_channel();
        let connection_shared = Arc::new(ConnectionShared::default());
        let reactor = RpcClientReactor::new(Arc::clone(&connection_shared))
            .credentials(config.credentials.clone());
        let connection = Connection::new(
            stream,
            codec,
            reactor,
            Some(outbound),
            config.connection.clone(),
        );
        let shared = Arc::new(CallShared {
            sender: sender.clone(),
            connection: connection_shared,
            cells: cell::CellPool::default(),
        });
        let client = Self {
            sender,
            shared,
            default_deadline: config.default_deadline,
            call_hook: config.call_hook.clone(),
            stream_buffer: config.stream_buffer,
            send_budget: config.send_budget,
            by_credit: speaks_credit::<Req>() && speaks_credit::<Resp>(),
        };
        (
            client,
            ClientConnection {
                connection: Some(connection),
            },
        )
    }

    /// Connects to a TCP or Unix `endpoint` (TCP with the configuration's socket
    /// options) and spawns the connection's task with [`tokio::spawn`]; the task
    /// ends when the connection closes.
    ///
    /// An [`Endpoint`] parses from `ip:port`, `host:port` (resolved now) or
    /// `unix:/path`, so a client can take its server's address from the command
    /// line or the environment as text. To connect over TLS (or any stream of
    /// your own), use [`connect_with`](Self::connect_with); to run the connection
    /// yourself (on a `LocalSet`, or over another stream), use
    /// [`over_stream`](Self::over_stream).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when connecting fails.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect<C>(
        endpoint: impl Into<Endpoint>,
        codec: C,
        config: &RpcClientConfig,
    ) -> Result<Self, Error>
    where
        C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
        <C as Encoder>::Serialized: Send,
    {
        let stream = endpoint.into().connect(&config.socket_options).await?;
        Ok(Self::spawned(stream, codec, config))
    }

    /// As [`connect`](Self::connect), with the stream `connector` makes: TLS
    /// with `protosocket::tls::TlsConnector` (feature `tls`), which checks the
    /// server's certificate against the endpoint's host name (or the name it is
    /// given) and may present a client certificate. The connector's socket
    /// options apply, not the configuration's.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when connecting (or the TLS handshake) fails.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect_with<K, C>(
        connector: &K,
        endpoint: impl Into<Endpoint>,
        codec: C,
        config: &RpcClientConfig,
    ) -> Result<Self, Error>
    where
        K: Connect,
        C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
        <C as Encoder>::Serialized: Send,
    {
        let stream = connector.connect(&endpoint.into()).await?;
        Ok(Self::spawned(stream, codec, config))
    }

    /// As [`connect`](Self::connect), then runs `hook` on the new connection
    /// before returning its client.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when connecting fails; the hook's error when it fails (the
    /// connection then closes).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect_with_hook<C>(
        endpoint: impl Into<Endpoint>,
        codec: C,
        config: &RpcClientConfig,
        hook: &ConnectHook<Req, Resp>,
    ) -> Result<Self, Error>
    where
        C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
        <C as Encoder>::Serialized: Send,
    {
        let client = Self::connect(endpoint, codec, config).await?;
        hook.run(client.clone()).await?;
        Ok(client)
    }

    /// A client over `stream` whose connection runs in a task of its own, so no
    /// caller can forget to run it.
    fn spawned<S, C>(stream: S, codec: C, config: &RpcClientConfig) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
        <C as Encoder>::Serialized: Send,
    {
        let (client, connection) = Self::over_stream(stream, codec, config);
        tokio::spawn(connection);
        client
    }

    /// Sends a unary request with the configured default deadline. The client sets
    /// the request's id, and the time left to its deadline as the request's
    /// [`timeout`](Message::set_timeout); the metadata the request carries goes
    /// with it (after the [`CallHook`], if one is set). Must be called inside a
    /// tokio runtime with a timer when a deadline applies.
    ///
    /// See [`UnaryCompletion`] for the errors and what dropping it does.
    pub fn send_unary(&self, request: Req) -> UnaryCompletion<Req, Resp> {
        self.send_unary_with_deadline(request, self.default_deadline)
    }

    /// Sends a unary request that fails with
    /// [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded) (and is
    /// cancelled) if not answered within `deadline`; `None` waits as long as the
    /// connection lives.
    pub fn send_unary_with_deadline(
        &self,
        request: Req,
        deadline: Option<Duration>,
    ) -> UnaryCompletion<Req, Resp> {
        let deadline = Deadline::instant_after(deadline);
        let cell = self.shared.cells.take();
        let completion = CompletionSender::Unary(UnarySender::new(Arc::clone(&cell)));
        let (submit, guard): (Submit, CallGuard<Req, Resp>) =
            self.submit(request, completion, cell, deadline);
        UnaryCompletion {
            submit,
            deadline: Deadline::at(deadline),
            guard,
        }
    }

    /// Asks the server whether `service` (`""` for the whole server) is
    /// serving: a [`Health`](crate::ControlCode::Health) check, answered by the
    /// server itself from its
    /// [`HealthReporter`](crate::health::HealthReporter) (see
    /// [`health`](crate::health)), within the configured default deadline, or
    /// 5 s without one. A message type without metadata reads every answer as
    /// [`Unknown`](HealthStatus::Unknown).
    ///
    /// # Errors
    ///
    /// Those of a unary call: [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded)
    /// from a server that does not answer checks (an upstream 2.x server),
    /// [`Unavailable`](crate::StatusCode::Unavailable) on a draining
    /// connection, [`Error::ConnectionClosed`].
    pub async fn check_health(&self, service: &str) -> Result<HealthStatus, Error> {
        let mut check = Req::control(0, crate::ControlCode::Health);
        let mut metadata = Metadata::new();
        metadata.insert(crate::health::SERVICE_KEY, service.to_string());
        check.set_metadata(metadata);
        let deadline = self.default_deadline.or(Some(HEALTH_CHECK_DEADLINE));
        let mut answer = self.send_unary_with_deadline(check, deadline).await?;
        let metadata = answer.take_metadata();
        Ok(metadata
            .text(crate::health::STATUS_KEY)
            .map_or(HealthStatus::Unknown, HealthStatus::from_name))
    }

    /// Sends a request whose responses arrive as a stream, with the configured
    /// default deadline covering the whole stream.
    ///
    /// See [`StreamingCompletion`] for the errors and what dropping it does.
    pub fn send_streaming(&self, request: Req) -> StreamingCompletion<Req, Resp> {
        self.send_streaming_with_deadline(request, self.default_deadline)
    }

    /// Sends a streaming request whose whole stream must end within `deadline`.
    pub fn send_streaming_with_deadline(
        &self,
        request: Req,
        deadline: Option<Duration>,
    ) -> StreamingCompletion<Req, Resp> {
        let deadline = Deadline::instant_after(deadline);
        let (items, events) = stream_buffer(self.stream_buffer);
        let request = self.with_window(request);
        let cell = self.shared.cells.take();
        let (submit, guard): (Submit, CallGuard<Req, Resp>) =
            self.submit(request, CompletionSender::Streaming(items), cell, deadline);
        StreamingCompletion {
            submit,
            events,
            deadline: Deadline::at(deadline),
            guard,
            retry: None,
        }
    }

    /// Opens a client-streaming call: `request` is its first message; send the
    /// rest with the [`RequestSender`], then [`finish`](RequestSender::finish) it
    /// (or drop it); the [`UnaryCompletion`] resolves to the server's one
    /// response. The configured default deadline covers the whole call.
    ///
    /// The server must take a request stream for this request
    /// ([`ConnectionService::takes_request_stream`](crate::server::ConnectionService::takes_request_stream));
    /// a server that does not answers the second message as a duplicate
    /// ([`AlreadyExists`](crate::StatusCode::AlreadyExists), `Cancel` from an
    /// upstream server), and the call fails with [`Error::Status`].
    pub fn send_client_streaming(
        &self,
        request: Req,
    ) -> (RequestSender<Req, Resp>, UnaryCompletion<Req, Resp>) {
        self.send_client_streaming_with_deadline(request, self.default_deadline)
    }

    /// [`send_client_streaming`](Self::send_client_streaming) with a deadline
    /// for the whole call; `None` waits as long as the connection lives.
    pub fn send_client_streaming_with_deadline(
        &self,
        request: Req,
        deadline: Option<Duration>,
    ) -> (RequestSender<Req, Resp>, UnaryCompletion<Req, Resp>) {
        let deadline = Deadline::instant_after(deadline);
        let cell = self.shared.cells.take();
        let completion = CompletionSender::Unary(UnarySender::new(Arc::clone(&cell)));
        let (sender, guard, submit) = self.open_upload(request, completion, cell, deadline);
        let completion = UnaryCompletion {
            submit,
            deadline: Deadline::at(deadline),
            guard,
        };
        (sender, completion)
    }

    /// Opens a bidirectional call: `request` is its first message; send the
    /// rest with the [`RequestSender`] while the server's responses arrive on
    /// the [`StreamingCompletion`], which ends after the server's `End`. The
    /// configured default deadline covers the whole call.
    ///
    /// The server must take a request stream for this request, as for
    /// [`send_client_streaming`](Self::send_client_streaming).
    pub fn send_bidi(
        &self,
        request: Req,
    ) -> (RequestSender<Req, Resp>, StreamingCompletion<Req, Resp>) {
        self.send_bidi_with_deadline(request, self.default_deadline)
    }

    /// [`send_bidi`](Self::send_bidi) with a deadline for the whole call.
    pub fn send_bidi_with_deadline(
        &self,
        request: Req,
        deadline: Option<Duration>,
    ) -> (RequestSender<Req, Resp>, StreamingCompletion<Req, Resp>) {
        let deadline = Deadline::instant_after(deadline);
        let (items, events) = stream_buffer(self.stream_buffer);
        let cell = self.shared.cells.take();
        let (sender, guard, submit) =
            self.open_upload(request, CompletionSender::Streaming(items), cell, deadline);
        let completion = StreamingCompletion {
            submit,
            events,
            deadline: Deadline::at(deadline),
            guard,
            retry: None,
        };
        (sender, completion)
    }

    /// Puts the window of a streaming call's responses on its first request,
    /// which tells a server that speaks credit that this client does too.
    fn with_window(&self, mut request: Req) -> Req {
        if self.by_credit {
            request.set_credit(u32::try_from(self.stream_buffer).unwrap_or(u32::MAX));
        }
        request
    }

    /// Queues the first request of a call with an input side on a lane of its
    /// own, which its sender keeps: if that lane is full, the sender sends the
    /// request before anything else. The call hook runs on it first: a sync
    /// hook in place, an async one behind a [`HookGate`] that both the sender
    /// and the completion (through the returned [`Submit`]) drive.
    fn open_upload(
        &self,
        mut request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<cell::CallCell<Resp>>,
        deadline: Option<tokio::time::Instant>,
    ) -> (RequestSender<Req, Resp>, CallGuard<Req, Resp>, Submit) {
        let upload = Arc::new(Upload::new(self.by_credit));
        let lane = self.sender.clone();
        let mut submit = Submit::Queued;
        let mut gate = None;
        let hooked = if self.is_draining() {
            Err(None)
        } else {
            self.open_hooked(&mut request).map_err(Some)
        };
        let opening = ClientOutbound::upload(
            self.with_window(request),
            completion,
            Arc::clone(&cell),
            Arc::clone(&upload),
            deadline,
        );
        let opening = match hooked {
            Ok(None) => match lane.send(opening) {
                Ok(()) => None,
                Err(spillway::TrySendError::Full(opening)) => Some(opening),
                // The call fails with the close reason when its completion is
                // polled.
                Err(spillway::TrySendError::Closed(_)) => None,
            },
            Ok(Some(hook)) => {
                let waiting = Arc::new(HookGate::new(hook, opening));
                submit = Submit::Waiting(Box::pin(hook_gate::completion_wait(
                    Arc::clone(&waiting),
                    self.sender.clone(),
                )));
                gate = Some(waiting);
                None
            }
            Err(status) => {
                // Refused unsent: the call ends with the hook's status (or as
                // refused by a draining connection), and its sender finds the
                // input side closed.
                opening.fail_unsent(status.map_or_else(reactor::draining_error, Error::Status));
                None
            }
        };
        let guard = CallGuard {
            cell: Some(cell),
            shared: Arc::clone(&self.shared),
            finished: false,
        };
        let sender = RequestSender::new(
            lane,
            upload,
            opening,
            gate,
            Arc::clone(&self.shared),
            self.send_budget,
        );
        (sender, guard, submit)
    }

    /// Runs the call hook, if one is set, on the first request of a call with
    /// an input side: `Err` refuses the call, `Ok(Some(future))` is an async
    /// hook's decision to wait for (it holds the request's metadata).
    #[inline]
    fn open_hooked(&self, request: &mut Req) -> Result<Option<HookFuture<Metadata>>, Status> {
        let Some(hook) = &self.call_hook else {
            return Ok(None);
        };
        match hook.run(request.take_metadata())? {
            Hooked::Ready(metadata) => {
                request.set_metadata(metadata);
                Ok(None)
            }
            Hooked::Later(metadata) => Ok(Some(metadata)),
        }
    }

    fn submit(
        &self,
        request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<cell::CallCell<Resp>>,
        deadline: Option<tokio::time::Instant>,
    ) -> (Submit, CallGuard<Req, Resp>) {
        let guard = CallGuard {
            cell: Some(Arc::clone(&cell)),
            shared: Arc::clone(&self.shared),
            finished: false,
        };
        if self.is_draining() {
            // Refused unsent: a pool takes the request back and sends it
            // elsewhere.
            cell.park(Box::new(request));
            completion.fail(reactor::draining_error());
            return (Submit::Queued, guard);
        }
        let submit = match &self.call_hook {
            None => self.enqueue(ClientOutbound::call(request, completion, cell, deadline)),
            Some(hook) => self.submit_hooked(hook, request, completion, cell, deadline),
        };
        (submit, guard)
    }

    /// Queues `outbound`, or the wait for room to.
    #[inline(always)]
    fn enqueue(&self, outbound: ClientOutbound<Req, Resp>) -> Submit {
        match self.sender.send(outbound) {
            Ok(()) => Submit::Queued,
            Err(spillway::TrySendError::Full(outbound)) => {
                Submit::Waiting(Box::pin(queue_when_room(self.sender.clone(), outbound)))
            }
            Err(spillway::TrySendError::Closed(_)) => Submit::ClosedAtStart,
        }
    }

    /// Runs `hook` on `request`'s metadata, then queues the request (a sync hook),
    /// or the wait for the hook and then for room (an async hook), or nothing (a
    /// refusal, which ends the call with the hook's status at once).
    #[cold]
    fn submit_hooked(
        &self,
        hook: &CallHook,
        mut request: Req,
        completion: CompletionSender<Resp>,
        cell: Arc<cell::CallCell<Resp>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Submit {
        match hook.run(request.take_metadata()) {
            Ok(Hooked::Ready(metadata)) => {
                request.set_metadata(metadata);
                self.enqueue(ClientOutbound::call(request, completion, cell, deadline))
            }
            Ok(Hooked::Later(metadata)) => {
                let sender = self.sender.clone();
                Submit::Waiting(Box::pin(async move {
                    match metadata.await {
                        Ok(metadata) => {
                            request.set_metadata(metadata);
                            let outbound =
                                ClientOutbound::call(request, completion, cell, deadline);
                            queue_when_room(sender, outbound).await
                        }
                        Err(status) => {
                            completion.fail(Error::Status(status));
                            true
                        }
                    }
                }))
            }
            Err(status) => {
                completion.fail(Error::Status(status));
                Submit::Queued
            }
        }
    }
}

/// Queues `outbound` once `sender`'s lane has room.
async fn queue_when_room<Req, Resp>(
    sender: spillway::Sender<ClientOutbound<Req, Resp>>,
    outbound: ClientOutbound<Req, Resp>,
) -> bool {
    sender.send_async(outbound).await.is_ok()
}

impl<Req, Resp> RpcClient<Req, Resp> {
    /// Whether the connection has ended: every call from now on fails with
    /// [`Error::ConnectionClosed`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Whether `other` is a handle on the same connection.
    pub(crate) fn same_connection(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether this client's calls are those `shared` is of.
    pub(crate) fn is_on(&self, shared: &Arc<CallShared<Req, Resp>>) -> bool {
        Arc::ptr_eq(&self.shared, shared)
    }

    /// Whether the server has told this connection it is draining (shutting
    /// down gracefully, see [`ControlCode::Draining`](crate::ControlCode::Draining)):
    /// calls made from now on fail at once with
    /// [`Unavailable`](crate::StatusCode::Unavailable) without being sent, the
    /// calls in flight finish, and the connection closes once none is left.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.shared.connection.is_draining()
    }

    /// Whether the server has sent anything on this connection yet (a pong, a
    /// response): a connection accepted by a host whose server process is hung
    /// never does.
    pub(crate) fn has_received(&self) -> bool {
        self.shared.connection.has_received()
    }

    /// Whether the server has answered a call on this connection.
    pub(crate) fn has_answered(&self) -> bool {
        self.shared.connection.has_answered()
    }

    /// Whether calls kept missing their deadlines with nothing received.
    pub(crate) fn is_suspect(&self) -> bool {
        self.shared.connection.is_suspect()
    }

    /// Calls in flight, roughly: every call holds a share of the handles' state,
    /// as every handle does.
    pub(crate) fn load(&self) -> usize {
        Arc::strong_count(&self.shared)
    }

    /// Why the connection ended; `None` while it runs.
    #[must_use]
    pub fn close_reason(&self) -> Option<CloseReason> {
        if !self.is_closed() {
            return None;
        }
        match self.shared.connection.closed_error() {
            Error::ConnectionClosed(reason) => Some(reason),
            _ => None,
        }
    }
}

impl<Req, Resp> Clone for RpcClient<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            shared: Arc::clone(&self.shared),
            default_deadline: self.default_deadline,
            call_hook: self.call_hook.clone(),
            stream_buffer: self.stream_buffer,
            send_budget: self.send_budget,
            by_credit: self.by_credit,
        }
    }
}

impl<Req, Resp> fmt::Debug for RpcClient<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcClient")
            .field("sender", &self.sender)
            .field("default_deadline", &self.default_deadline)
            .finish()
    }
}

/// The connection of an [`RpcClient`]: a future to spawn, which completes when the
/// connection closes.
///
/// When it completes it drops the underlying [`Connection`] at once, so every call
/// still pending resolves with [`Error::ConnectionClosed`] (carrying the
/// connection's [`CloseReason`]) even if this future is kept around.
///
/// # Cancel safety
///
/// Dropping it closes the connection unflushed; pending calls fail with
/// [`Error::ConnectionClosed`] ([`CloseReason::Dropped`]).
#[must_use = "calls wait until the connection runs: spawn it"]
pub struct ClientConnection<S, C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    connection: Option<Connection<S, RpcClientReactor<C>>>,
}

impl<S, C> ClientConnection<S, C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    /// The connection, until it has ended (for its stats, or to close it).
    pub fn connection(&self) -> Option<&Connection<S, RpcClientReactor<C>>> {
        self.connection.as_ref()
    }

    /// The connection, mutably, until it has ended; [`Connection::close`] starts
    /// a graceful close.
    pub fn connection_mut(&mut self) -> Option<&mut Connection<S, RpcClientReactor<C>>> {
        self.connection.as_mut()
    }
}

impl<S, C> Future for ClientConnection<S, C>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(connection) = this.connection.as_mut() else {
            return Poll::Ready(());
        };
        std::task::ready!(Pin::new(connection).poll(cx));
        // Dropping the reactor resolves every pending call.
        this.connection = None;
        Poll::Ready(())
    }
}

impl<S, C> fmt::Debug for ClientConnection<S, C>
where
    C: Encoder + Decoder,
    <C as Encoder>::Message: Message + Send + 'static,
    <C as Decoder>::Message: Message,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConnection")
            .field("connection", &self.connection)
            .finish()
    }
}
