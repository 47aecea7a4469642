//! What a connection does with its messages.

use std::task::{Context, Poll};

use crate::close::CloseReason;
use crate::codec::{Decoder, Encoder};
use crate::replies::Replies;

/// What a [`MessageReactor`] wants the connection to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactorStatus {
    /// Keep going.
    Continue,
    /// Stop reading, send what is already queued, then shut the stream down.
    Disconnect,
}

/// The per-connection logic: a [`Connection`](crate::Connection) owns the socket and
/// the codec and calls its reactor for everything else.
///
/// Each poll of the connection runs up to four rounds of: read the stream and
/// decode complete messages, as many as there is room to answer (see below),
/// handing each to [`on_inbound_message`](Self::on_inbound_message); call
/// [`poll`](Self::poll); take outbound messages while the send queue has room
/// (the connection's [`spillway::Sender`]s' messages, then the answers the reactor
/// pushed to its [`Replies`], both mapped through
/// [`on_outbound_message`](Self::on_outbound_message), then
/// [`poll_outbound`](Self::poll_outbound)), encode them and write. So an answer
/// leaves in the same poll as its request.
///
/// Decoding is bounded by room to answer: while
/// [`answers_inbound`](Self::answers_inbound) is true, the connection decodes only
/// as many messages as `max_queued_outbound_messages` less what its send queue and
/// the [`Replies`] already hold (complete messages beyond that wait in the receive
/// buffer), so [`Replies::push`] never overruns the bound and a peer that sends
/// without reading is held back by TCP flow control. A reactor whose inbound
/// messages need no answer from it (an rpc client reading responses) returns
/// false, and is never held back by its own full send queue: two peers that both
/// pipeline cannot wait on each other.
///
/// Every method runs inside the connection's task, so a reactor needs no locks.
///
/// # Implementing
///
/// A reactor that answers each line with its length:
///
/// ```
/// use protosocket::{
///     Connection, ConnectionConfig, LinesCodec, MessageReactor, ReactorStatus, Replies,
/// };
///
/// struct Lengths;
///
/// impl MessageReactor for Lengths {
///     type Codec = LinesCodec;
///     type Inbound = String;
///     type Outbound = String;
///     type LogicalOutbound = usize;
///
///     fn on_inbound_message(&mut self, line: String, replies: &mut Replies<usize>) -> ReactorStatus {
///         if line == "quit" {
///             return ReactorStatus::Disconnect;
///         }
///         replies.push(line.len());
///         ReactorStatus::Continue
///     }
///
///     fn on_outbound_message(&mut self, length: usize) -> String {
///         format!("{length} bytes")
///     }
/// }
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// # runtime.block_on(async {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let (client, server) = tokio::io::duplex(1024);
/// // No outbound channel: only the reactor sends.
/// let codec = LinesCodec::new();
/// let connection = Connection::new(server, codec, Lengths, None, ConnectionConfig::default());
/// let task = tokio::spawn(connection);
///
/// let (mut read, mut write) = tokio::io::split(client);
/// write.write_all(b"hello\nquit\n").await.unwrap();
/// let mut answer = String::new();
/// read.read_to_string(&mut answer).await.unwrap();
/// assert_eq!(answer, "5 bytes\n");
/// task.await.unwrap();
/// # });
/// ```
pub trait MessageReactor: Unpin {
    /// The connection's codec.
    type Codec: Encoder<Message = Self::Outbound> + Decoder<Message = Self::Inbound>;
    /// Messages decoded from the stream.
    type Inbound;
    /// Messages encoded onto the stream.
    type Outbound;
    /// What the connection's [`spillway::Sender`]s and the reactor's [`Replies`]
    /// carry; mapped to [`Outbound`](Self::Outbound) by
    /// [`on_outbound_message`](Self::on_outbound_message).
    type LogicalOutbound;

    /// Handles one decoded message; answers pushed to `replies` are sent in order,
    /// and a push never fails (see the trait docs for why there is room).
    fn on_inbound_message(
        &mut self,
        message: Self::Inbound,
        replies: &mut Replies<Self::LogicalOutbound>,
    ) -> ReactorStatus;

    /// Turns an outbound message (from [`Replies`] or the outbound channel) into
    /// what is encoded, just before it is encoded (a client registers its
    /// completion here).
    fn on_outbound_message(&mut self, message: Self::LogicalOutbound) -> Self::Outbound;

    /// Pushes the reactor's own work forward; called once per receive-then-send
    /// round (up to four times in one connection poll), after that round's inbound
    /// messages and before its outbound ones, while the connection is open. A
    /// reactor that has work waiting on something else must arrange to wake `cx`.
    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        let _ = cx;
        ReactorStatus::Continue
    }

    /// A producer of outbound messages that the connection asks only while its send
    /// queue has room, so its work sees the peer's backpressure; asked while the
    /// connection drains too, until it returns `Ready(None)` or `Pending`.
    /// `Ready(Some)` is a message; `Pending` (with `cx` registered) or `Ready(None)`
    /// means nothing now.
    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Outbound>> {
        let _ = cx;
        Poll::Ready(None)
    }

    /// Whether inbound messages may need an answer queued by this side, so that
    /// the connection must hold decoding back while its send queue and the
    /// [`Replies`] hold `max_queued_outbound_messages` messages. The
    /// default is true. Return false when inbound messages never need room to send
    /// (an rpc client's responses): the connection then reads them whatever its
    /// send queue holds.
    fn answers_inbound(&self) -> bool {
        true
    }

    /// Whether the reactor takes inbound messages now. The connection asks before
    /// it reads and after each message it hands over; `Pending` (with `cx`
    /// registered, to be woken when the reactor takes messages again) holds
    /// inbound: complete messages wait in the receive buffer, the stream is not
    /// read, and once the buffer and the socket's are full TCP flow control holds
    /// the peer back. EOF is no message: once every message before it was
    /// handed over, [`on_read_closed`](Self::on_read_closed) is called even while
    /// the reactor holds. The default is always `Ready`.
    ///
    /// This is how a reactor that hands messages to bounded buffers of its own (an
    /// rpc stream's) keeps them bounded when the peer cannot be told to wait
    /// otherwise: return `Pending` once a message filled one. Holding stops every
    /// message of the connection, so it costs the peer's other traffic on it until
    /// the buffer drains.
    fn poll_inbound_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Ready(())
    }

    /// Whether the reactor waits on the peer now (an rpc client with calls in
    /// flight): with [`Liveness`](crate::Liveness) configured, a peer that sends
    /// nothing for its timeout while this is true closes the connection. The
    /// default is false.
    fn awaits_peer(&self) -> bool {
        false
    }

    /// A message that makes the peer answer, sent when the connection has received
    /// nothing for [`Liveness::ping_after`](crate::Liveness::ping_after). The
    /// default has none.
    fn ping(&mut self) -> Option<Self::Outbound> {
        None
    }

    /// The peer closed its side. The default disconnects (after sending what is
    /// queued); a reactor with work still owed to the peer returns `Continue` and
    /// disconnects later from [`poll`](Self::poll).
    fn on_read_closed(&mut self) -> ReactorStatus {
        ReactorStatus::Disconnect
    }

    /// The connection's owner asked for a graceful close
    /// ([`Connection::close`](crate::Connection::close); a server shutting down).
    /// The default disconnects at once: stop reading, send what is queued, shut the
    /// stream down. A reactor with work in flight returns `Continue`, refuses new
    /// work from then on, and disconnects from [`poll`](Self::poll) when its work is
    /// done; the owner bounds how long that may take.
    fn on_close_requested(&mut self) -> ReactorStatus {
        ReactorStatus::Disconnect
    }

    /// The connection has ended, for `reason`; no other method is called after
    /// this. Called once, also when the connection is dropped before it finished
    /// ([`CloseReason::Dropped`]). The default does nothing.
    fn on_closed(&mut self, reason: &CloseReason) {
        let _ = reason;
    }
}
