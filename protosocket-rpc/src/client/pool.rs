//! A fixed set of lazily connected clients that reconnect with backoff.

use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use protosocket::{Connect, Decoder, Encoder, Endpoint, EndpointConnector};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::completion::{CallShared, Resend};
use crate::client::{
    ClientConnection, ConnectHook, RequestSender, RpcClient, RpcClientConfig, StreamingCompletion,
    UnaryCompletion,
};
use crate::error::Error;
use crate::health::HealthStatus;
use crate::lock::lock;
use crate::message::Message;

/// Settings of an [`RpcPool`].
///
/// | setting | default | what it does |
/// |---|---|---|
/// | `connections` | 1 | the number of connections (slots); slot `i` connects to endpoint `i % endpoints` |
/// | `connect_timeout` | 5 s | how long one connect attempt may take before it counts as failed |
/// | `min_backoff` | 10 ms | how long a slot waits before reconnecting after its connection ended, or after its first failed attempt |
/// | `max_backoff` | 5 s | the cap of the backoff, which doubles with each failed attempt in a row |
/// | `health_interval` | none | how often each connection asks its server's health ([`RpcClient::check_health`], the whole server); a slot whose server is not serving gets no new call. None: never asked |
///
/// ```
/// use std::time::Duration;
/// use protosocket_rpc::client::PoolConfig;
///
/// let config = PoolConfig::default()
///     .connections(8)
///     .min_backoff(Duration::from_millis(50));
/// assert_eq!(config.get_connections(), 8);
/// assert_eq!(config.get_max_backoff(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct PoolConfig {
    connections: usize,
    connect_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    health_interval: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            connections: 1,
            connect_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
            health_interval: None,
        }
    }
}

impl PoolConfig {
    /// The number of connections.
    #[must_use]
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// The time limit of one connect attempt.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The first backoff after a failure (and the backoff after a connection that
    /// was up ends).
    #[must_use]
    pub fn min_backoff(mut self, backoff: Duration) -> Self {
        self.min_backoff = backoff;
        self
    }

    /// The longest backoff.
    #[must_use]
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// How often each connection asks its server's health, from when it
    /// connects; `None` (the default) never asks. A server that answers other
    /// than [`Serving`](crate::health::HealthStatus::Serving) gets no new call
    /// on that slot until a later check says it serves again.
    #[must_use]
    pub fn health_interval(mut self, interval: Option<Duration>) -> Self {
        self.health_interval = interval;
        self
    }

    /// How often each connection asks its server's health.
    #[must_use]
    pub fn get_health_interval(&self) -> Option<Duration> {
        self.health_interval
    }

    /// The number of connections.
    #[must_use]
    pub fn get_connections(&self) -> usize {
        self.connections
    }

    /// The time limit of one connect attempt.
    #[must_use]
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The first backoff.
    #[must_use]
    pub fn get_min_backoff(&self) -> Duration {
        self.min_backoff
    }

    /// The longest backoff.
    #[must_use]
    pub fn get_max_backoff(&self) -> Duration {
        self.max_backoff
    }
}

/// A pool of `N` rpc connections to one or several endpoints, connected lazily and
/// reconnected with backoff.
///
/// Cheap to clone (an `Arc`); clones share the connections. `Send + Sync` when the
/// messages and the codec are `Send`.
///
/// # How a call picks its connection
///
/// Slots are taken round-robin. Slot `i` connects to endpoint `i % endpoints.len()`.
/// A call on slot `i`:
///
/// 1. uses slot `i` if it is connected;
/// 2. otherwise, if slot `i` is idle (never used, or its backoff has elapsed),
///    starts a connect attempt for it in a spawned task;
/// 3. meanwhile uses any other connected slot, so a call never waits on a connect
///    while a healthy connection exists;
/// 4. with no connected slot: waits for slot `i`'s attempt (at most the
///    [connect timeout](PoolConfig::connect_timeout)) if one is running, and fails
///    at once with [`Error::Io`] (`NotConnected`) if slot `i` is backing off.
///
/// Concurrent callers share one connect attempt per slot.
///
/// # Failures and backoff
///
/// A slot whose connection ends (the server went away, an i/o or decode error)
/// is dead: it is not reconnected until its backoff has elapsed, and until then
/// calls that pick it fail fast as above. A failed connect attempt (refused, or
/// over the timeout) doubles the slot's backoff up to
/// [`max_backoff`](PoolConfig::max_backoff); a successful one resets it to
/// [`min_backoff`](PoolConfig::min_backoff). Calls already sent on a connection
/// that ends fail with [`Error::ConnectionClosed`]; the pool does not retry them.
///
/// # Drain and retry
///
/// A connection whose server is shutting down gracefully
/// ([`RpcClient::is_draining`]) is not picked for new calls: its slot starts a
/// replacement connection at once (a failed attempt backs off as above), and
/// calls go to the other connected slots meanwhile; the calls in flight on it
/// finish. A call that its connection refused unsent because it began
/// draining between the pick and the send (it fails
/// [`Unavailable`](crate::StatusCode::Unavailable) on an [`RpcClient`]) is sent
/// once more on another connection, by [`send_unary`](Self::send_unary) and
/// [`send_streaming`](Self::send_streaming): it never left, so sending it again
/// is safe. The refused request comes back from the connection, so the pool
/// keeps no copy of the requests it sends. The server serves every request
/// that reached it before its client closed, so nothing else needs a retry; a
/// server whose drain timeout passed answers `Unavailable`, which reaches the
/// caller. No other error is retried, and calls with an input side
/// ([`send_client_streaming`](Self::send_client_streaming),
/// [`send_bidi`](Self::send_bidi)) are not retried.
///
/// # Runtime
///
/// Connect attempts and connections run in tasks spawned with [`tokio::spawn`], so
/// calls must be made inside a tokio runtime (with time and i/o enabled), and the
/// codec, its messages and its encoded buffers must be `Send`. Dropping every
/// clone of the pool lets each connection close once the last
/// [`RpcClient`] taken from it and its last call are gone.
///
/// ```
/// # use std::future::{ready, Ready};
/// # use protosocket_rpc::{ControlCode, Message};
/// # use protosocket_rpc::server::{ConnectionService, Rpc, RpcServer, RpcServerConfig, SocketService};
/// # #[derive(Debug, Default, Clone)]
/// # struct Text { id: u64, code: u32, text: String }
/// # impl Message for Text {
/// #     fn message_id(&self) -> u64 { self.id }
/// #     fn set_message_id(&mut self, id: u64) { self.id = id }
/// #     fn control_code(&self) -> ControlCode { ControlCode::from_u32(self.code) }
/// #     fn cancelled(id: u64) -> Self { Text { id, code: 1, ..Default::default() } }
/// #     fn ended(id: u64) -> Self { Text { id, code: 2, ..Default::default() } }
/// # }
/// # struct TextCodec;
/// # impl protosocket::Encoder for TextCodec {
/// #     type Message = Text;
/// #     type Serialized = std::io::Cursor<Vec<u8>>;
/// #     fn encode(&mut self, m: Text) -> Self::Serialized {
/// #         let mut b = ((12 + m.text.len()) as u32).to_be_bytes().to_vec();
/// #         b.extend_from_slice(&m.id.to_be_bytes());
/// #         b.extend_from_slice(&m.code.to_be_bytes());
/// #         b.extend_from_slice(m.text.as_bytes());
/// #         std::io::Cursor::new(b)
/// #     }
/// # }
/// # impl protosocket::Decoder for TextCodec {
/// #     type Message = Text;
/// #     fn decode(&mut self, b: &[u8]) -> Result<(usize, Text), protosocket::DecodeError> {
/// #         use protosocket::DecodeError;
/// #         let len = u32::from_be_bytes(*b.first_chunk::<4>().ok_or(DecodeError::Incomplete { frame_len: None })?) as usize;
/// #         let frame = b.get(4..4 + len).ok_or(DecodeError::Incomplete { frame_len: Some(4 + len) })?;
/// #         if len < 12 { return Err(DecodeError::invalid("short frame")); }
/// #         let text = String::from_utf8(frame[12..].to_vec()).map_err(DecodeError::invalid)?;
/// #         Ok((4 + len, Text { id: u64::from_be_bytes(frame[..8].try_into().unwrap()), code: u32::from_be_bytes(frame[8..12].try_into().unwrap()), text }))
/// #     }
/// # }
/// # struct Echo;
/// # impl ConnectionService for Echo {
/// #     type Request = Text;
/// #     type Response = Text;
/// #     type Unary = Ready<Text>;
/// #     type Streaming = futures_core::stream::BoxStream<'static, Text>;
/// #     fn new_rpc(&mut self, request: Text) -> Rpc<Self::Unary, Self::Streaming> {
/// #         Rpc::Unary(ready(Text { text: request.text, ..Default::default() }))
/// #     }
/// # }
/// # struct EchoService;
/// # impl SocketService for EchoService {
/// #     type Codec = TextCodec;
/// #     type ConnectionService = Echo;
/// #     fn codec(&self) -> TextCodec { TextCodec }
/// #     fn new_connection_service(&self, _: &protosocket_rpc::server::ConnectionInfo<'_>) -> Echo { Echo }
/// # }
/// use protosocket_rpc::client::{PoolConfig, RpcClientConfig, RpcPool};
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # runtime.block_on(async {
/// # let server = RpcServer::bind("127.0.0.1:0".parse::<protosocket::Endpoint>()?, EchoService, RpcServerConfig::default())?;
/// # let address = server.local_endpoint()?;
/// # tokio::spawn(server);
/// let pool = RpcPool::new(
///     [address],
///     || TextCodec,
///     RpcClientConfig::default(),
///     PoolConfig::default().connections(4),
/// );
/// let response = pool.send_unary(Text { text: "hello".into(), ..Default::default() }).await?;
/// assert_eq!(response.text, "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// # Connectors
///
/// [`new`](Self::new) connects over plain TCP (with the client config's socket
/// options) or Unix sockets; [`with_connector`](Self::with_connector) takes any
/// [`Connect`], such as `protosocket::tls::TlsConnector` for TLS. The connector
/// runs on every connect and reconnect, so a host name endpoint is resolved
/// afresh each time (the pool follows DNS changes).
pub struct RpcPool<Req, Resp, C, K = EndpointConnector> {
    shared: Arc<Shared<Req, Resp, C, K>>,
}

type CodecFactory<C> = dyn Fn() -> C + Send + Sync;

struct Shared<Req, Resp, C, K> {
    /// Makes each connection's stream; shared with the attempts in flight.
    connector: Arc<K>,
    slots: Box<[Slot<Req, Resp>]>,
    /// The round-robin cursor.
    next: AtomicUsize,
    codec: Box<CodecFactory<C>>,
    config: RpcClientConfig,
    pool_config: PoolConfig,
    connect_attempts: AtomicU64,
    /// Run on each new connection before it is handed out.
    connect_hook: Option<ConnectHook<Req, Resp>>,
}

struct Slot<Req, Resp> {
    endpoint: Endpoint,
    inner: Mutex<SlotInner<Req, Resp>>,
}

struct SlotInner<Req, Resp> {
    state: State<Req, Resp>,
    /// The wait after the next failure.
    backoff: Duration,
    /// Which connect attempt the state belongs to: a task only updates the slot
    /// while its attempt is still the current one.
    generation: u64,
    /// Connections of this slot given up in a row for missing deadlines: each
    /// doubles the wait before the next, until one answers a call. A server whose
    /// handlers hang but whose connections accept (and pong) would otherwise take
    /// a few calls down with every fresh connection.
    strikes: u32,
    /// The last health check of the connection found its server serving (or
    /// none was made yet).
    serving: bool,
}

enum State<Req, Resp> {
    /// Free to connect: never used, or its backoff has elapsed.
    Idle,
    /// An attempt is running; it publishes its outcome here.
    Connecting(watch::Receiver<Option<Attempt<Req, Resp>>>),
    Connected(RpcClient<Req, Resp>),
    /// Dead until then.
    BackingOff(Instant),
}

type Attempt<Req, Resp> = Result<RpcClient<Req, Resp>, ConnectFailure>;

/// Where a connect attempt publishes its outcome.
type Publish<Req, Resp> = watch::Sender<Option<Attempt<Req, Resp>>>;

/// A failed attempt, shared by everyone who waited on it (`io::Error` is not
/// `Clone`).
#[derive(Debug, Clone)]
struct ConnectFailure {
    kind: io::ErrorKind,
    message: String,
}

impl ConnectFailure {
    fn into_error(self) -> Error {
        Error::Io(io::Error::new(self.kind, self.message))
    }
}

/// What a look at a slot found.
enum Check<Req, Resp> {
    Ready(RpcClient<Req, Resp>),
    Connecting(watch::Receiver<Option<Attempt<Req, Resp>>>),
    BackingOff,
}

impl<Req, Resp, C> RpcPool<Req, Resp, C>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
{
    /// A pool of `pool_config.connections` slots over `endpoints`, connecting
    /// over plain TCP (with `config`'s socket options) or Unix sockets; nothing
    /// connects until the first call. `codec` makes one codec per connection.
    ///
    /// # Panics
    ///
    /// When `endpoints` is empty or `connections` is zero.
    pub fn new<E>(
        endpoints: impl IntoIterator<Item = E>,
        codec: impl Fn() -> C + Send + Sync + 'static,
        config: RpcClientConfig,
        pool_config: PoolConfig,
    ) -> Self
    where
        E: Into<Endpoint>,
    {
        let connector = EndpointConnector::new(config.socket_options.clone());
        Self::with_connector(endpoints, connector, codec, config, pool_config)
    }
}

impl<Req, Resp, C, K> Resend<Req, Resp> for Shared<Req, Resp, C, K>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
    K: Connect + Send + Sync + 'static,
{
    fn resend_streaming(
        self: Arc<Self>,
        refused_by: &Arc<CallShared<Req, Resp>>,
        request: Box<dyn std::any::Any + Send>,
        deadline: Option<Duration>,
    ) -> Option<StreamingCompletion<Req, Resp>> {
        let request = *request.downcast::<Req>().ok()?;
        let pool = RpcPool { shared: self };
        let other = pool.ready_client(refused_by)?;
        Some(other.send_streaming_with_deadline(request, deadline))
    }
}

impl<Req, Resp, C, K> RpcPool<Req, Resp, C, K>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
    K: Connect + Send + Sync + 'static,
{
    /// As [`new`](Self::new), with the streams `connector` makes (TLS, say);
    /// the connector's socket options apply, not `config`'s.
    ///
    /// # Panics
    ///
    /// When `endpoints` is empty or `connections` is zero.
    pub fn with_connector<E>(
        endpoints: impl IntoIterator<Item = E>,
        connector: K,
        codec: impl Fn() -> C + Send + Sync + 'static,
        config: RpcClientConfig,
        pool_config: PoolConfig,
    ) -> Self
    where
        E: Into<Endpoint>,
    {
        let endpoints: Vec<Endpoint> = endpoints.into_iter().map(Into::into).collect();
        assert!(!endpoints.is_empty(), "an rpc pool needs an endpoint");
        assert!(
            pool_config.connections > 0,
            "an rpc pool needs at least one connection"
        );
        let slots = (0..pool_config.connections)
            .map(|i| Slot {
                endpoint: endpoints[i % endpoints.len()].clone(),
                inner: Mutex::new(SlotInner {
                    state: State::Idle,
                    backoff: pool_config.min_backoff,
                    generation: 0,
                    strikes: 0,
                    serving: true,
                }),
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                connector: Arc::new(connector),
                slots,
                next: AtomicUsize::new(0),
                codec: Box::new(codec),
                config,
                pool_config,
                connect_attempts: AtomicU64::new(0),
                connect_hook: None,
            }),
        }
    }

    /// Runs `hook` on every connection the pool makes (each reconnect too),
    /// before the connection takes calls; its time counts in the connect
    /// timeout, and its failure fails the attempt.
    ///
    /// # Panics
    ///
    /// When the pool has been cloned already: set it as the pool is built.
    #[must_use]
    pub fn connect_hook(mut self, hook: ConnectHook<Req, Resp>) -> Self {
        Arc::get_mut(&mut self.shared)
            .expect("a pool's connect hook is set before the pool is cloned")
            .connect_hook = Some(hook);
        self
    }

    /// A client on the next connection, picked as described on [`RpcPool`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] (`NotConnected`) when no connection is up and the picked one
    /// is backing off (or its attempt was abandoned), or the error of the attempt
    /// this call waited for (`TimedOut` past the connect timeout).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, when a connect attempt has to be spawned.
    ///
    /// # Cancel safety
    ///
    /// Dropping it while it waits for a connect attempt leaves the attempt
    /// running; its connection is kept for later calls.
    pub async fn client(&self) -> Result<RpcClient<Req, Resp>, Error> {
        self.pick(None).await
    }

    /// A client picked as [`client`](Self::client) describes, never on the
    /// connection of `avoid` (the one that just refused a call).
    async fn pick(
        &self,
        avoid: Option<&RpcClient<Req, Resp>>,
    ) -> Result<RpcClient<Req, Resp>, Error> {
        let slots = &self.shared.slots;
        let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<((bool, usize), RpcClient<Req, Resp>)> = None;
        let mut attempt = None;
        for offset in 0..slots.len() {
            match self.check((start + offset) % slots.len()) {
                Check::Ready(client)
                    if avoid.is_some_and(|avoid| avoid.same_connection(&client)) => {}
                Check::Ready(client) => {
                    // Connections known to answer first, then the least loaded;
                    // ties go to the earliest in this call's round-robin order.
                    let rank = (!client.has_received(), client.load());
                    if best.as_ref().is_none_or(|(best, _)| rank < *best) {
                        best = Some((rank, client));
                    }
                }
                Check::Connecting(waiting) => {
                    attempt.get_or_insert(waiting);
                }
                Check::BackingOff => {}
            }
        }
        if let Some((_, client)) = best {
            return Ok(client);
        }
        let Some(mut attempt) = attempt else {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::NotConnected,
                "no pool connection is up, and every slot is backing off after a failure",
            )));
        };
        let outcome = attempt
            .wait_for(Option::is_some)
            .await
            .map(|outcome| outcome.clone());
        match outcome {
            Ok(Some(Ok(client))) => Ok(client),
            Ok(Some(Err(failure))) => Err(failure.into_error()),
            // The attempt's task went away (runtime shutting down) or the pool
            // was dropped.
            Ok(None) | Err(_) => Err(Error::Io(io::Error::new(
                io::ErrorKind::NotConnected,
                "the pool's connect attempt was abandoned",
            ))),
        }
    }

    /// A client as [`client`](Self::client) picks it, waiting for a connect at
    /// most `deadline`.
    async fn client_within(
        &self,
        deadline: Option<Duration>,
    ) -> Result<RpcClient<Req, Resp>, Error> {
        self.pick_within(deadline, None).await
    }

    /// [`pick`](Self::pick) within `deadline`.
    async fn pick_within(
        &self,
        deadline: Option<Duration>,
        avoid: Option<&RpcClient<Req, Resp>>,
    ) -> Result<RpcClient<Req, Resp>, Error> {
        match deadline {
            Some(deadline) => tokio::time::timeout(deadline, self.pick(avoid))
                .await
                .unwrap_or_else(|_| Err(Error::deadline_exceeded())),
            None => self.pick(avoid).await,
        }
    }

    /// The deadline of calls made without one.
    pub(crate) fn default_deadline(&self) -> Option<Duration> {
        self.shared.config.default_deadline
    }

    /// Sends a unary request on a connection picked as [`client`](Self::client)
    /// does, with the configured default deadline.
    ///
    /// # Errors
    ///
    /// Those of [`send_unary_with_deadline`](Self::send_unary_with_deadline).
    ///
    /// # Cancel safety
    ///
    /// Dropping it after the request was sent cancels the call.
    pub async fn send_unary(&self, request: Req) -> Result<Resp, Error> {
        self.send_unary_with_deadline(request, self.shared.config.default_deadline)
            .await
    }

    /// Sends a unary request that must be answered within `deadline`, counted
    /// from now: a wait for a connect is part of it, so the call ends by its
    /// deadline even when every connect hangs.
    ///
    /// # Errors
    ///
    /// Those of [`client`](Self::client), [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded) when the
    /// deadline passes while it waits for a connect, then those of the call
    /// ([`UnaryCompletion`](crate::client::UnaryCompletion)).
    ///
    /// A call refused unsent by a draining connection (see [`RpcPool`]'s
    /// "Drain and retry") is sent once more, on another connection, within
    /// what is left of `deadline`.
    ///
    /// # Cancel safety
    ///
    /// Dropping it after the request was sent cancels the call.
    pub async fn send_unary_with_deadline(
        &self,
        request: Req,
        deadline: Option<Duration>,
    ) -> Result<Resp, Error> {
        let started = Instant::now();
        let left = |deadline: Option<Duration>| {
            deadline.map(|deadline| deadline.saturating_sub(started.elapsed()))
        };
        let client = self.client_within(deadline).await?;
        let mut call = client.send_unary_with_deadline(request, left(deadline));
        let refused = match (&mut call).await {
            Err(error) if error.status_code() == crate::StatusCode::Unavailable => error,
            outcome => return outcome,
        };
        // A refused call never left: its request is parked for this.
        let Some(again) = call.take_refused() else {
            return Err(refused);
        };
        drop(call);
        tracing::debug!(%refused, "call refused unsent; retrying it once on another connection");
        let Ok(other) = self.pick_within(left(deadline), Some(&client)).await else {
            return Err(refused);
        };
        other.send_unary_with_deadline(again, left(deadline)).await
    }

    /// Sends a streaming request on a connection picked as
    /// [`client`](Self::client) does; the configured default deadline covers the
    /// wait for a connect and the whole stream. A stream refused unsent by a
    /// draining connection is sent once more on another connection that is up
    /// (see "Drain and retry" on [`RpcPool`]).
    ///
    /// # Errors
    ///
    /// Those of [`client`](Self::client), [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded) when the
    /// deadline passes while it waits for a connect; the stream itself reports the
    /// errors of the call ([`StreamingCompletion`]).
    pub async fn send_streaming(
        &self,
        request: Req,
    ) -> Result<StreamingCompletion<Req, Resp>, Error> {
        let (client, left) = self.client_for_call().await?;
        let mut completion = client.send_streaming_with_deadline(request, left);
        completion.retry = Some(Arc::clone(&self.shared) as Arc<dyn Resend<Req, Resp>>);
        Ok(completion)
    }

    /// A connected client, picked as [`client`](Self::client) does, on any
    /// connection but `avoid`'s; `None` when no other is up now.
    fn ready_client(&self, avoid: &Arc<CallShared<Req, Resp>>) -> Option<RpcClient<Req, Resp>> {
        let slots = self.shared.slots.len();
        let start = self.shared.next.fetch_add(1, Ordering::Relaxed);
        (0..slots).find_map(|offset| match self.check((start + offset) % slots) {
            Check::Ready(client) if !client.is_on(avoid) => Some(client),
            _ => None,
        })
    }

    /// A connection for a call with the configured default deadline, and the
    /// time left of that deadline once connected.
    async fn client_for_call(&self) -> Result<(RpcClient<Req, Resp>, Option<Duration>), Error> {
        let deadline = self.shared.config.default_deadline;
        let started = Instant::now();
        let client = self.client_within(deadline).await?;
        let left = deadline.map(|deadline| deadline.saturating_sub(started.elapsed()));
        Ok((client, left))
    }

    /// Opens a client-streaming call
    /// ([`RpcClient::send_client_streaming`](crate::client::RpcClient::send_client_streaming))
    /// on a connection picked as [`client`](Self::client) does; the configured
    /// default deadline covers the wait for a connect and the whole call.
    ///
    /// # Errors
    ///
    /// As [`send_streaming`](Self::send_streaming); the completion reports the
    /// errors of the call.
    pub async fn send_client_streaming(
        &self,
        request: Req,
    ) -> Result<(RequestSender<Req, Resp>, UnaryCompletion<Req, Resp>), Error> {
        let (client, left) = self.client_for_call().await?;
        Ok(client.send_client_streaming_with_deadline(request, left))
    }

    /// Opens a bidirectional call ([`RpcClient::send_bidi`]) on a connection
    /// picked as [`client`](Self::client) does; the configured default deadline
    /// covers the wait for a connect and the whole call.
    ///
    /// # Errors
    ///
    /// As [`send_streaming`](Self::send_streaming).
    pub async fn send_bidi(
        &self,
        request: Req,
    ) -> Result<(RequestSender<Req, Resp>, StreamingCompletion<Req, Resp>), Error> {
        let (client, left) = self.client_for_call().await?;
        Ok(client.send_bidi_with_deadline(request, left))
    }

    /// Calls keep missing their deadlines with no answer on the slot's
    /// connection: route no new call there; connect afresh after a wait that
    /// doubles with each such connection in a row. Calls in flight keep the old
    /// connection until they end.
    #[cold]
    fn strike(
        &self,
        slot: &Slot<Req, Resp>,
        inner: &mut SlotInner<Req, Resp>,
        now: Instant,
    ) -> Check<Req, Resp> {
        inner.strikes = inner.strikes.saturating_add(1);
        let wait = self
            .shared
            .pool_config
            .min_backoff
            .saturating_mul(1 << inner.strikes.min(16))
            .min(self.shared.pool_config.max_backoff);
        tracing::info!(endpoint = ?slot.endpoint, ?wait, "pool connection unresponsive; replacing it");
        inner.generation += 1;
        inner.state = State::BackingOff(now + wait);
        Check::BackingOff
    }

    /// Looks at slot `index`, starting a connect attempt when it is due.
    fn check(&self, index: usize) -> Check<Req, Resp> {
        let slot = &self.shared.slots[index];
        let mut inner = slot.lock();
        let now = Instant::now();
        if let State::Connected(client) = &inner.state {
            if client.is_closed() {
                // Its task is about to notice, back off and reconnect.
                return Check::BackingOff;
            }
            if client.is_draining() {
                // The server is shutting down: calls in flight finish on the
                // old connection, which closes by itself; new ones go to other
                // slots while this one connects afresh (below, at once: the old
                // connection has not failed).
                tracing::debug!(endpoint = ?slot.endpoint, "pool connection draining; replacing it");
            } else if !inner.serving {
                return Check::BackingOff;
            } else if !client.is_suspect() {
                let client = client.clone();
                if inner.strikes > 0 && client.has_answered() {
                    inner.strikes = 0;
                }
                return Check::Ready(client);
            } else {
                return self.strike(slot, &mut inner, now);
            }
        }
        match &inner.state {
            State::Connecting(attempt) => Check::Connecting(attempt.clone()),
            State::BackingOff(until) if *until > now => Check::BackingOff,
            State::Idle | State::BackingOff(_) | State::Connected(_) => {
                inner.generation += 1;
                let (publish, attempt) = watch::channel(None);
                inner.state = State::Connecting(attempt.clone());
                let generation = inner.generation;
                drop(inner);
                self.shared.connect_attempts.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connect(
                    Arc::downgrade(&self.shared),
                    index,
                    generation,
                    publish,
                ));
                Check::Connecting(attempt)
            }
        }
    }

    /// How many connect attempts the pool has started.
    #[must_use]
    pub fn connect_attempts(&self) -> u64 {
        self.shared.connect_attempts.load(Ordering::Relaxed)
    }

    /// How many slots would take a new call now: connected, not draining,
    /// and (with [health checks](PoolConfig::health_interval)) serving.
    #[must_use]
    pub fn serving(&self) -> usize {
        self.shared
            .slots
            .iter()
            .filter(|slot| {
                let inner = slot.lock();
                matches!(&inner.state, State::Connected(client) if !client.is_closed() && !client.is_draining() && inner.serving)
            })
            .count()
    }

    /// How many slots hold a connection that is up.
    #[must_use]
    pub fn connected(&self) -> usize {
        self.shared
            .slots
            .iter()
            .filter(|slot| slot.connected().is_some())
            .count()
    }
}

impl<Req, Resp> Slot<Req, Resp> {
    fn lock(&self) -> MutexGuard<'_, SlotInner<Req, Resp>> {
        lock(&self.inner)
    }

    fn connected(&self) -> Option<RpcClient<Req, Resp>> {
        match &self.lock().state {
            State::Connected(client) if !client.is_closed() => Some(client.clone()),
            _ => None,
        }
    }

    fn succeeded(&self, generation: u64, client: RpcClient<Req, Resp>, config: &PoolConfig) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.state = State::Connected(client);
            inner.backoff = config.min_backoff;
            inner.serving = true;
        }
    }

    /// Records what a health check of generation `generation`'s connection
    /// found.
    fn health(&self, generation: u64, status: Result<HealthStatus, Error>) {
        let serving = matches!(status, Ok(HealthStatus::Serving));
        let mut inner = self.lock();
        if inner.generation == generation && inner.serving != serving {
            tracing::info!(endpoint = ?self.endpoint, ?status, "pool connection's server health changed");
            inner.serving = serving;
        }
    }

    /// Backs off after a failed attempt; returns the wait, if the slot is still
    /// this attempt's.
    fn failed(&self, generation: u64, config: &PoolConfig) -> Option<Duration> {
        let mut inner = self.lock();
        if inner.generation != generation {
            return None;
        }
        let wait = inner.backoff;
        inner.state = State::BackingOff(Instant::now() + wait);
        inner.backoff = inner.backoff.saturating_mul(2).min(config.max_backoff);
        Some(wait)
    }

    /// Backs off after a connection ended; returns the wait, if the slot is still
    /// this connection's.
    fn ended(&self, generation: u64) -> Option<Duration> {
        let mut inner = self.lock();
        if inner.generation != generation {
            return None;
        }
        let wait = inner.backoff;
        inner.state = State::BackingOff(Instant::now() + wait);
        Some(wait)
    }

    /// Starts the next attempt of the task that owns generation `generation`,
    /// unless a call already started one (or the slot moved on).
    fn retry(&self, generation: u64) -> Option<(u64, Publish<Req, Resp>)> {
        let mut inner = self.lock();
        if inner.generation != generation || !matches!(inner.state, State::BackingOff(_)) {
            return None;
        }
        inner.generation += 1;
        let (publish, attempt) = watch::channel(None);
        inner.state = State::Connecting(attempt);
        Some((inner.generation, publish))
    }
}

/// The task of slot `index`: a connect attempt, then the life of its connection,
/// then after the backoff another attempt, and so on in the background, for as
/// long as the pool lives and the slot is still this task's (a newer attempt,
/// started for a connection the pool gave up on, takes the slot over).
async fn connect<Req, Resp, C, K>(
    shared: Weak<Shared<Req, Resp, C, K>>,
    index: usize,
    mut generation: u64,
    mut publish: Publish<Req, Resp>,
) where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    C: Encoder<Message = Req> + Decoder<Message = Resp> + Send + 'static,
    <C as Encoder>::Serialized: Send,
    K: Connect + Send + Sync + 'static,
{
    loop {
        let Some(pool) = shared.upgrade() else {
            return;
        };
        let endpoint = pool.slots[index].endpoint.clone();
        let connector = Arc::clone(&pool.connector);
        let codec = (pool.codec)();
        let config = pool.config.clone();
        let timeout = pool.pool_config.connect_timeout;
        let hook = pool.connect_hook.clone();
        // Holding the pool for the whole attempt would keep it alive past its users.
        drop(pool);
        let attempt = tokio::time::timeout(timeout, async {
            let stream = connector.connect(&endpoint).await?;
            let (client, mut connection) = RpcClient::over_stream(stream, codec, &config);
            if let Some(hook) = hook {
                // The connection runs while the hook makes its calls on it.
                tokio::select! {
                    outcome = hook.run(client.clone()) => outcome?,
                    () = &mut connection => {
                        return Err(client.close_reason().map_or_else(
                            || Error::ConnectionClosed(protosocket::CloseReason::Dropped),
                            Error::ConnectionClosed,
                        ));
                    }
                }
            }
            Ok((client, connection))
        });
        let Some(wait) = run(&shared, index, generation, publish, attempt.await).await else {
            return;
        };
        tokio::time::sleep(wait).await;
        let Some(pool) = shared.upgrade() else {
            return;
        };
        let Some((next, sender)) = pool.slots[index].retry(generation) else {
            return;
        };
        pool.connect_attempts.fetch_add(1, Ordering::Relaxed);
        generation = next;
        publish = sender;
    }
}

type Connected<Req, Resp, S, C> = (RpcClient<Req, Resp>, ClientConnection<S, C>);

/// A connect under a timeout.
type Timed<T> = Result<Result<T, Error>, tokio::time::error::Elapsed>;

/// Publishes an attempt's outcome and, when it connected, runs the connection to
/// its end. Returns the backoff before the next attempt, or `None` when the slot
/// is no longer this attempt's (or the pool is gone).
async fn run<Req, Resp, S, C, K>(
    shared: &Weak<Shared<Req, Resp, C, K>>,
    index: usize,
    generation: u64,
    publish: Publish<Req, Resp>,
    attempt: Timed<Connected<Req, Resp, S, C>>,
) -> Option<Duration>
where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
    S: AsyncRead + AsyncWrite + Unpin,
    C: Encoder<Message = Req> + Decoder<Message = Resp>,
{
    let attempt = match attempt {
        Ok(Ok(connected)) => Ok(connected),
        Ok(Err(Error::Io(error))) => Err(ConnectFailure {
            kind: error.kind(),
            message: error.to_string(),
        }),
        Ok(Err(error)) => Err(ConnectFailure {
            kind: io::ErrorKind::Other,
            message: error.to_string(),
        }),
        Err(_) => Err(ConnectFailure {
            kind: io::ErrorKind::TimedOut,
            message: "connect timed out".to_string(),
        }),
    };
    let pool = shared.upgrade()?;
    let slot = &pool.slots[index];
    match attempt {
        Ok((client, connection)) => {
            slot.succeeded(generation, client.clone(), &pool.pool_config);
            publish.send_replace(Some(Ok(client.clone())));
            drop(publish);
            let interval = pool.pool_config.health_interval;
            drop(pool);
            match interval {
                None => {
                    drop(client);
                    connection.await;
                }
                Some(interval) => {
                    // The checks run beside the connection, which this task
                    // polls: they end with it.
                    tokio::select! {
                        () = connection => {}
                        () = watch_health(shared, index, generation, client, interval) => {}
                    }
                }
            }
            shared.upgrade()?.slots[index].ended(generation)
        }
        Err(failure) => {
            tracing::debug!(endpoint = ?slot.endpoint, error = %failure.message, "pool connect failed");
            let wait = slot.failed(generation, &pool.pool_config);
            publish.send_replace(Some(Err(failure)));
            wait
        }
    }
}

/// Asks the server of slot `index`'s connection (generation `generation`) for
/// its health every `interval`, from now, for as long as the pool lives.
async fn watch_health<Req, Resp, C, K>(
    shared: &Weak<Shared<Req, Resp, C, K>>,
    index: usize,
    generation: u64,
    client: RpcClient<Req, Resp>,
    interval: Duration,
) where
    Req: Message + Send + 'static,
    Resp: Message + Send + 'static,
{
    loop {
        let status = client.check_health("").await;
        let Some(pool) = shared.upgrade() else {
            return;
        };
        pool.slots[index].health(generation, status);
        drop(pool);
        tokio::time::sleep(interval).await;
    }
}

impl<Req, Resp, C, K> Clone for RpcPool<Req, Resp, C, K> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<Req, Resp, C, K> fmt::Debug for RpcPool<Req, Resp, C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slots: Vec<_> = self
            .shared
            .slots
            .iter()
            .map(|slot| {
                let state = match &slot.lock().state {
                    State::Idle => "idle",
                    State::Connecting(_) => "connecting",
                    State::Connected(client) if client.is_closed() => "closed",
                    State::Connected(_) => "connected",
                    State::BackingOff(_) => "backing off",
                };
                (slot.endpoint.clone(), state)
            })
            .collect();
        f.debug_struct("RpcPool")
            .field("slots", &slots)
            .field("pool_config", &self.shared.pool_config)
            .finish()
    }
}
