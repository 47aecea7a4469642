//! What you implement to serve rpcs.

use std::future::Future;
use std::sync::Arc;

use futures_core::Stream;
use protosocket::{ConnectionStats, Decoder, Encoder, PeerAddress, PeerIdentity};

use crate::message::Message;
use crate::server::context::CallContext;
use crate::server::inbox::RequestStream;
use crate::status::Status;

/// What a [`ConnectionService`] does with one request.
#[derive(Debug)]
pub enum Rpc<U, S> {
    /// Answer with the one response this future resolves to.
    Unary(U),
    /// Answer with every response of this stream, then `End`.
    Streaming(S),
    /// Refuse the request: the client gets this status
    /// ([`Error::Status`](crate::Error::Status); a message type without status
    /// fields carries only the code's [`control_code`](crate::StatusCode::control_code)).
    Reject(Status),
}

/// The rpcs of one connection.
///
/// The connection calls [`new_rpc`](Self::new_rpc) for each request and polls the
/// future or stream it returns inside the connection's own task, and only while
/// the connection has room to send: a client that stops reading stops the work.
/// The connection sets the request's id on every response, so responses need not
/// carry it. When the client cancels the rpc, its deadline passes, or the
/// connection ends, the future or stream is dropped.
///
/// # Failing a call
///
/// A handler fails its call with a [`Status`] by answering
/// [`Message::with_status(0, status)`](Message::with_status) (the connection sets
/// the id): a unary future's response, or a stream item, whose control code is
/// not `Normal` goes to the client as it is and ends the rpc (a stream is
/// dropped after it, and no `End` follows). Before any work starts,
/// [`Rpc::Reject`] does the same.
///
/// # Deadlines and metadata
///
/// [`new_rpc_with_context`](Self::new_rpc_with_context) is given the call's
/// [`CallContext`]: its id, its deadline (the time the client gave it, counted
/// from when the request was read) and the request's metadata (after the
/// server's [`CallHook`](crate::server::CallHook), if any). Its default puts the
/// metadata back on the request and calls [`new_rpc`](Self::new_rpc), so a
/// service that needs neither implements `new_rpc` alone. The connection itself
/// drops the work of an rpc whose deadline passes and answers
/// [`DeadlineExceeded`](crate::StatusCode::DeadlineExceeded).
///
/// Nothing here needs to be `Send` when the server runs its connections on a
/// `LocalSet` (see [`RpcServer::bind_local`](crate::server::RpcServer::bind_local)).
///
/// # Heavy work
///
/// Work polled in the connection's task delays that connection's other rpcs
/// while it runs. For CPU-heavy rpcs, spawn the work (`tokio::spawn`, or
/// `spawn_blocking`) and return a future that awaits its `JoinHandle` or a oneshot;
/// to stop spawned work on cancellation, abort it from a drop guard in the future.
///
/// # Implementing
///
/// ```
/// use std::future::{ready, Ready};
/// use std::pin::Pin;
/// use futures_core::Stream;
/// use protosocket_rpc::server::{ConnectionService, Rpc};
/// use protosocket_rpc::{ControlCode, Message, Status};
///
/// #[derive(Debug, Default)]
/// struct Text {
///     id: u64,
///     code: u32,
///     text: String,
/// }
/// # impl Message for Text {
/// #     fn message_id(&self) -> u64 { self.id }
/// #     fn set_message_id(&mut self, id: u64) { self.id = id }
/// #     fn control_code(&self) -> ControlCode { ControlCode::from_u32(self.code) }
/// #     fn cancelled(id: u64) -> Self { Text { id, code: 1, ..Default::default() } }
/// #     fn ended(id: u64) -> Self { Text { id, code: 2, ..Default::default() } }
/// # }
///
/// /// A stream of the letters of a text, one response each.
/// struct Letters(std::vec::IntoIter<char>);
///
/// impl Stream for Letters {
///     type Item = Text;
///     fn poll_next(
///         self: Pin<&mut Self>,
///         _: &mut std::task::Context<'_>,
///     ) -> std::task::Poll<Option<Text>> {
///         let letter = self.get_mut().0.next();
///         std::task::Poll::Ready(letter.map(|c| Text { text: c.to_string(), ..Default::default() }))
///     }
/// }
///
/// /// Upper-cases text; spells out texts that start with '!'; rejects empty ones.
/// struct Shout;
///
/// impl ConnectionService for Shout {
///     type Request = Text;
///     type Response = Text;
///     type Unary = Ready<Text>;
///     type Streaming = Letters;
///
///     fn new_rpc(&mut self, request: Text) -> Rpc<Ready<Text>, Letters> {
///         match request.text.strip_prefix('!') {
///             _ if request.text.is_empty() => Rpc::Reject(Status::invalid_argument("no text")),
///             Some(word) => Rpc::Streaming(Letters(word.chars().collect::<Vec<_>>().into_iter())),
///             None => Rpc::Unary(ready(Text {
///                 text: request.text.to_uppercase(),
///                 ..Default::default()
///             })),
///         }
///     }
/// }
/// ```
pub trait ConnectionService {
    /// What clients send.
    type Request: Message;
    /// What the service answers.
    type Response: Message;
    /// The future of a unary rpc. A service whose futures have no type it can
    /// name (`async` blocks, or several kinds of future) can use
    /// [`UnaryFuture`](crate::server::UnaryFuture): like a boxed future, without
    /// the allocation when the future is small.
    type Unary: Future<Output = Self::Response>;
    /// The responses of a streaming rpc.
    type Streaming: Stream<Item = Self::Response>;

    /// Starts the rpc for `request` (a request with control code `Normal`).
    fn new_rpc(&mut self, request: Self::Request) -> Rpc<Self::Unary, Self::Streaming>;

    /// Starts the rpc for `request` with its `context`: what the connection
    /// calls. The request's metadata is in the context (taken out of the request
    /// as it was read, and seen by the call hook); keep the context (in the
    /// future, say) to read its deadline or metadata while the rpc runs.
    ///
    /// The default puts the context's metadata, if any, back on the request and
    /// calls [`new_rpc`](Self::new_rpc).
    #[inline(always)]
    fn new_rpc_with_context(
        &mut self,
        mut request: Self::Request,
        context: CallContext,
    ) -> Rpc<Self::Unary, Self::Streaming> {
        let metadata = context.into_metadata();
        if !metadata.is_empty() {
            request.set_metadata(metadata);
        }
        self.new_rpc(request)
    }

    /// Whether the rpc `request` opens takes the client's later messages: a
    /// client-streaming rpc (answered by a [`Rpc::Unary`]) or a bidirectional one
    /// (answered by a [`Rpc::Streaming`]). When true, the connection starts it
    /// with [`new_rpc_with_requests`](Self::new_rpc_with_requests) instead of
    /// [`new_rpc_with_context`](Self::new_rpc_with_context). The default is false: every rpc takes one
    /// request, and a second `Normal` message with an id in flight is a duplicate,
    /// answered `Cancel`.
    ///
    /// Decide from the request alone (a method field, say); it is asked once per
    /// request, before the rpc starts.
    fn takes_request_stream(&self, request: &Self::Request) -> bool {
        let _ = request;
        false
    }

    /// Starts an rpc that [takes a request stream](Self::takes_request_stream):
    /// `request` is the client's first message, `context` its call context (as
    /// for [`new_rpc_with_context`](Self::new_rpc_with_context)), `requests`
    /// yields its later messages until the client's `End`. Return [`Rpc::Unary`] for a client-streaming rpc
    /// (one response) or [`Rpc::Streaming`] for a bidirectional one; the future or
    /// stream owns `requests` and reads it as it goes.
    ///
    /// The rpc's id stays in flight (counting toward the connection's limit) until
    /// the client ends its input, even if the answer went out before; its
    /// deadline and client cancel end it as any other rpc. The default drops
    /// `requests` (the client's later messages are discarded) and calls
    /// [`new_rpc_with_context`](Self::new_rpc_with_context).
    fn new_rpc_with_requests(
        &mut self,
        request: Self::Request,
        context: CallContext,
        requests: RequestStream<Self::Request>,
    ) -> Rpc<Self::Unary, Self::Streaming> {
        drop(requests);
        self.new_rpc_with_context(request, context)
    }
}

/// The rpc service of a server: a codec and a [`ConnectionService`] for each
/// connection it accepts.
///
/// ```
/// use protosocket_rpc::server::{ConnectionInfo, ConnectionService, SocketService};
/// # use protosocket_rpc::server::Rpc;
/// # use protosocket_rpc::{ControlCode, Message};
/// # use std::future::{ready, Ready};
/// # #[derive(Debug, Default)] struct Text { id: u64, code: u32 }
/// # impl Message for Text {
/// #     fn message_id(&self) -> u64 { self.id }
/// #     fn set_message_id(&mut self, id: u64) { self.id = id }
/// #     fn control_code(&self) -> ControlCode { ControlCode::from_u32(self.code) }
/// #     fn cancelled(id: u64) -> Self { Text { id, code: 1 } }
/// #     fn ended(id: u64) -> Self { Text { id, code: 2 } }
/// # }
/// # struct TextCodec;
/// # impl protosocket::Encoder for TextCodec {
/// #     type Message = Text; type Serialized = std::io::Cursor<Vec<u8>>;
/// #     fn encode(&mut self, m: Text) -> Self::Serialized { std::io::Cursor::new(m.id.to_be_bytes().to_vec()) }
/// # }
/// # impl protosocket::Decoder for TextCodec {
/// #     type Message = Text;
/// #     fn decode(&mut self, b: &[u8]) -> Result<(usize, Text), protosocket::DecodeError> {
/// #         let id = b.first_chunk::<8>().ok_or(protosocket::DecodeError::Incomplete { frame_len: Some(8) })?;
/// #         Ok((8, Text { id: u64::from_be_bytes(*id), code: 0 }))
/// #     }
/// # }
/// # struct Echo;
/// # impl ConnectionService for Echo {
/// #     type Request = Text; type Response = Text; type Unary = Ready<Text>;
/// #     type Streaming = std::pin::Pin<Box<dyn futures_core::Stream<Item = Text>>>;
/// #     fn new_rpc(&mut self, request: Text) -> Rpc<Ready<Text>, Self::Streaming> { Rpc::Unary(ready(request)) }
/// # }
/// struct EchoService;
///
/// impl SocketService for EchoService {
///     type Codec = TextCodec;
///     type ConnectionService = Echo;
///
///     fn codec(&self) -> TextCodec {
///         TextCodec
///     }
///
///     fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> Echo {
///         tracing::debug!(peer = %connection.peer(), "new rpc connection");
///         Echo
///     }
/// }
/// ```
pub trait SocketService {
    /// The codec of each connection.
    type Codec: Encoder<Message = <Self::ConnectionService as ConnectionService>::Response>
        + Decoder<Message = <Self::ConnectionService as ConnectionService>::Request>;
    /// The service of each connection.
    type ConnectionService: ConnectionService;

    /// The codec of a new connection.
    fn codec(&self) -> Self::Codec;

    /// The service of a new connection: who the peer is and the connection's
    /// counters are in `connection`.
    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> Self::ConnectionService;
}

/// What a [`SocketService`] is told of a new connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo<'a> {
    peer: &'a PeerAddress,
    stats: &'a Arc<ConnectionStats>,
    identity: Option<&'a Arc<PeerIdentity>>,
}

impl<'a> ConnectionInfo<'a> {
    /// Information on a connection from `peer` whose counters are `stats` (for
    /// driving a [`SocketService`] by hand, in a test say).
    #[must_use]
    pub fn new(peer: &'a PeerAddress, stats: &'a Arc<ConnectionStats>) -> Self {
        Self {
            peer,
            stats,
            identity: None,
        }
    }

    /// The same information, with the peer's verified identity.
    #[must_use]
    pub fn with_peer_identity(mut self, identity: Option<&'a Arc<PeerIdentity>>) -> Self {
        self.identity = identity;
        self
    }

    /// The peer's verified identity: on a mutual-TLS connection, the client
    /// certificate chain the listener verified and the DNS names it is issued
    /// for; `None` on plain TCP and Unix connections, and on TLS without
    /// client certificates. Clone the `Arc` to keep it for the connection's
    /// calls.
    #[must_use]
    pub fn peer_identity(&self) -> Option<&'a Arc<PeerIdentity>> {
        self.identity
    }

    /// The peer's address.
    #[must_use]
    pub fn peer(&self) -> &'a PeerAddress {
        self.peer
    }

    /// The connection's counters (messages and bytes each way, the send queue's
    /// depth), kept up to date from its first poll and readable from any thread:
    /// clone the `Arc` to keep them, for metrics say.
    #[must_use]
    pub fn stats(&self) -> &'a Arc<ConnectionStats> {
        self.stats
    }
}
