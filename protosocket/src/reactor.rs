//! What a connection does with its messages.

use std::task::{Context, Poll};

use crate::codec::{Decoder, Encoder};

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
/// In one poll the connection reads and decodes every complete message and hands
/// each to [`on_inbound_message`](Self::on_inbound_message); then calls
/// [`poll`](Self::poll); then takes outbound messages (from the
/// [`spillway::Sender`]s of the connection, mapped through
/// [`on_outbound_message`](Self::on_outbound_message), and from
/// [`poll_outbound`](Self::poll_outbound) while the send queue has room), encodes
/// them and writes. So a reply queued while handling a request leaves in the same
/// poll.
///
/// Every method runs inside the connection's task, so a reactor needs no locks.
///
/// # Implementing
///
/// A reactor that answers each line with its length, through the connection's own
/// outbound sender:
///
/// ```
/// use protosocket::{DecodeError, Decoder, Encoder, MessageReactor, ReactorStatus};
///
/// /// Newline-terminated UTF-8 lines.
/// #[derive(Default)]
/// struct LineCodec;
///
/// impl Encoder for LineCodec {
///     type Message = String;
///     type Serialized = std::io::Cursor<Vec<u8>>;
///     fn encode(&mut self, line: String) -> Self::Serialized {
///         std::io::Cursor::new(format!("{line}\n").into_bytes())
///     }
/// }
///
/// impl Decoder for LineCodec {
///     type Message = String;
///     fn decode(&mut self, buffer: &[u8]) -> Result<(usize, String), DecodeError> {
///         let Some(end) = buffer.iter().position(|&b| b == b'\n') else {
///             return Err(DecodeError::Incomplete { frame_len: None });
///         };
///         let line = std::str::from_utf8(&buffer[..end]).map_err(DecodeError::invalid)?;
///         Ok((end + 1, line.to_string()))
///     }
/// }
///
/// struct Lengths {
///     replies: spillway::Sender<usize>,
/// }
///
/// impl MessageReactor for Lengths {
///     type Codec = LineCodec;
///     type Inbound = String;
///     type Outbound = String;
///     type LogicalOutbound = usize;
///
///     fn on_inbound_message(&mut self, line: String) -> ReactorStatus {
///         if line == "quit" {
///             return ReactorStatus::Disconnect;
///         }
///         match self.replies.send(line.len()) {
///             Ok(()) => ReactorStatus::Continue,
///             // The connection's send queue is full: this peer does not read.
///             Err(_) => ReactorStatus::Disconnect,
///         }
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
/// let config = protosocket::ConnectionConfig::default();
/// let (replies, outbound) = config.outbound_channel();
/// let connection = protosocket::Connection::new(server, LineCodec, Lengths { replies }, outbound, config);
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
    /// What the connection's [`spillway::Sender`]s carry; mapped to
    /// [`Outbound`](Self::Outbound) by [`on_outbound_message`](Self::on_outbound_message).
    type LogicalOutbound;

    /// Handles one decoded message.
    fn on_inbound_message(&mut self, message: Self::Inbound) -> ReactorStatus;

    /// Turns a message from the outbound channel into what is encoded, just before it
    /// is encoded (a client registers its completion here).
    fn on_outbound_message(&mut self, message: Self::LogicalOutbound) -> Self::Outbound;

    /// Pushes the reactor's own work forward; called once per connection poll, after
    /// the inbound messages and before the outbound ones. A reactor that returns
    /// `Pending`-like work must arrange to wake `cx`.
    fn poll(&mut self, cx: &mut Context<'_>) -> ReactorStatus {
        let _ = cx;
        ReactorStatus::Continue
    }

    /// A producer of outbound messages that the connection asks only while its send
    /// queue has room, so its work sees the peer's backpressure. `Ready(Some)` is a
    /// message, `Pending` (with `cx` registered) or `Ready(None)` means nothing now.
    fn poll_outbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Outbound>> {
        let _ = cx;
        Poll::Ready(None)
    }

    /// The peer closed its side. The default disconnects (after sending what is
    /// queued); a reactor with work still owed to the peer returns `Continue` and
    /// disconnects later from [`poll`](Self::poll).
    fn on_read_closed(&mut self) -> ReactorStatus {
        ReactorStatus::Disconnect
    }
}
