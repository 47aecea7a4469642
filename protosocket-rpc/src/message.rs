//! What an rpc message must tell the connection: its id and its control code,
//! and what it may carry besides: a status, metadata, a timeout.

use std::time::Duration;

use crate::metadata::Metadata;
use crate::status::Status;

/// The control code of an rpc message, as carried on the wire.
///
/// | code | value | meaning |
/// |---|---|---|
/// | [`Normal`](ControlCode::Normal) | 0 | a request, or one response |
/// | [`Cancel`](ControlCode::Cancel) | 1 | stop this rpc (client), or this rpc was cancelled or rejected (server) |
/// | [`End`](ControlCode::End) | 2 | a response stream is complete |
/// | [`Failed`](ControlCode::Failed) | 3 | the server's handler for this rpc failed (panicked); the rpc is over |
/// | [`Unavailable`](ControlCode::Unavailable) | 4 | the server refused this rpc without running it: it is shutting down |
/// | [`Ping`](ControlCode::Ping) | 5 | id 0: are you there? (either side, on a quiet connection) |
/// | [`Pong`](ControlCode::Pong) | 6 | id 0: the answer to a ping |
/// | [`Status`](ControlCode::Status) | 7 | the rpc failed with the [`Status`](crate::Status) this message carries; the rpc is over |
/// | [`Credit`](ControlCode::Credit) | 8 | stream flow control: the peer may send [`Message::credit`] more messages of this rpc's stream |
/// | [`Draining`](ControlCode::Draining) | 9 | id 0, server to client: the server is shutting down; send no new call on this connection and close it once the calls in flight are done |
/// | [`Health`](ControlCode::Health) | 10 | a health check (client, the service name in metadata) or its answer (server, the status in metadata), with the check's own id; see [`health`](crate::health) |
///
/// Any other value is read as `Cancel`, so a peer speaking a newer protocol never
/// leaves a call waiting. An upstream 2.x peer reads `Failed` and `Unavailable` as
/// `Cancel` for the same reason, which is a correct outcome for it: the rpc ended
/// without a response. So does it `Status`. It reads `Ping` and `Pong` (always id 0, which no call
/// uses) as a `Cancel` for an rpc it does not know, and ignores them. `Credit` is
/// sent only to a peer that has shown it speaks credit (a client whose request
/// carried a window, a server that granted one), so an upstream peer never sees it.
/// An upstream 2.x client reads `Draining` (always id 0) as a `Cancel` of an rpc
/// it never has in flight, and ignores it: it goes on sending, and the draining
/// server goes on answering until its drain timeout, then refuses new calls with
/// `Unavailable` and closes once the calls in flight are done; every call still
/// gets an outcome. An upstream 2.x server reads a `Health` check as a `Cancel`
/// of an rpc it does not have and ignores it (the check ends by its deadline);
/// an upstream client never sends one, so never sees an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlCode {
    /// A request, or one response.
    Normal = 0,
    /// The rpc is cancelled: by the client, or by the server (which may also mean
    /// the request was rejected).
    Cancel = 1,
    /// The response stream of this rpc is complete.
    End = 2,
    /// The server's handler for this rpc failed (it panicked); the server logged
    /// it with the rpc's id. Sent by the server only.
    Failed = 3,
    /// The server refused this rpc without running it, because it is shutting
    /// down: the request may be sent again elsewhere. Sent by the server only.
    Unavailable = 4,
    /// Liveness: the peer should answer `Pong`. Carries id 0.
    Ping = 5,
    /// Liveness: the answer to a `Ping`. Carries id 0.
    Pong = 6,
    /// The rpc failed; the message carries the [`Status`](crate::Status) saying
    /// how (see [`Message::take_status`]). Sent by the server only.
    Status = 7,
    /// Stream flow control: the receiver may send [`Message::credit`] more
    /// messages of this rpc's stream (the client's responses window, the server's
    /// request stream). The server's first `Credit` of an rpc also acknowledges
    /// that it speaks credit. Sent only to a peer that has shown it speaks credit.
    Credit = 8,
    /// Graceful drain: the server is shutting down. Requests already sent are
    /// still answered; the client sends no new call on this connection and
    /// closes it once nothing is in flight. Carries id 0; sent by the server
    /// only.
    Draining = 9,
    /// A health check (from the client, the service name in its metadata) or
    /// its answer (from the server, the status in its metadata); see
    /// [`health`](crate::health).
    Health = 10,
}

impl ControlCode {
    /// Reads a wire value; unknown values are [`Cancel`](ControlCode::Cancel).
    ///
    /// ```
    /// use protosocket_rpc::ControlCode;
    ///
    /// assert_eq!(ControlCode::from_u32(0), ControlCode::Normal);
    /// assert_eq!(ControlCode::from_u32(2), ControlCode::End);
    /// assert_eq!(ControlCode::from_u32(3), ControlCode::Failed);
    /// assert_eq!(ControlCode::from_u32(9), ControlCode::Draining);
    /// assert_eq!(ControlCode::from_u32(77), ControlCode::Cancel);
    /// ```
    #[inline]
    #[must_use]
    pub fn from_u32(value: u32) -> Self {
        match value {
            0 => ControlCode::Normal,
            2 => ControlCode::End,
            3 => ControlCode::Failed,
            4 => ControlCode::Unavailable,
            5 => ControlCode::Ping,
            6 => ControlCode::Pong,
            7 => ControlCode::Status,
            8 => ControlCode::Credit,
            9 => ControlCode::Draining,
            10 => ControlCode::Health,
            _ => ControlCode::Cancel,
        }
    }

    /// The wire value.
    #[inline]
    #[must_use]
    pub fn as_u32(self) -> u32 {
        self as u32
    }
}

/// An rpc request or response: your own message type, carrying an id and a control
/// code somewhere in its encoding (with prost, the id as field 1 (`uint64`) and the
/// code as field 2 (`uint32`)).
///
/// The client sets the id of every request; the server copies it onto every
/// response of that rpc. The connection builds control messages with
/// [`control`](Message::control) (cancellations and stream ends through
/// [`cancelled`](Message::cancelled) and [`ended`](Message::ended)), so those need
/// only the id and the code.
///
/// # Implementing
///
/// ```
/// use protosocket_rpc::{ControlCode, Message};
///
/// #[derive(Debug, Default)]
/// struct Echo {
///     id: u64,
///     code: u32,
///     text: String,
/// }
///
/// impl Message for Echo {
///     fn message_id(&self) -> u64 {
///         self.id
///     }
///     fn set_message_id(&mut self, id: u64) {
///         self.id = id;
///     }
///     fn control_code(&self) -> ControlCode {
///         ControlCode::from_u32(self.code)
///     }
///     fn cancelled(id: u64) -> Self {
///         Echo { id, code: ControlCode::Cancel.as_u32(), ..Default::default() }
///     }
///     fn ended(id: u64) -> Self {
///         Echo { id, code: ControlCode::End.as_u32(), ..Default::default() }
///     }
///     fn control(id: u64, code: ControlCode) -> Self {
///         Echo { id, code: code.as_u32(), ..Default::default() }
///     }
/// }
///
/// assert_eq!(Echo::ended(7).control_code(), ControlCode::End);
/// assert_eq!(Echo::control(7, ControlCode::Failed).control_code(), ControlCode::Failed);
/// assert_eq!(Echo { code: 77, ..Default::default() }.control_code(), ControlCode::Cancel);
/// ```
pub trait Message: Sized {
    /// The rpc this message belongs to.
    fn message_id(&self) -> u64;

    /// Sets the rpc this message belongs to.
    fn set_message_id(&mut self, id: u64);

    /// The control code; implementations read unknown wire values with
    /// [`ControlCode::from_u32`].
    fn control_code(&self) -> ControlCode;

    /// A [`Cancel`](ControlCode::Cancel) message for rpc `id`.
    fn cancelled(id: u64) -> Self;

    /// An [`End`](ControlCode::End) message for rpc `id`.
    fn ended(id: u64) -> Self;

    /// A control message with `code` for rpc `id`.
    ///
    /// Override it to carry every code: the default can only build `End` and
    /// `Cancel`, so it sends `Cancel` for [`Failed`](ControlCode::Failed) and
    /// [`Unavailable`](ControlCode::Unavailable), which the client then cannot
    /// tell from a plain cancellation.
    #[must_use]
    fn control(id: u64, code: ControlCode) -> Self {
        match code {
            ControlCode::End => Self::ended(id),
            _ => Self::cancelled(id),
        }
    }

    /// A message that ends rpc `id` with `status`: control code
    /// [`Status`](ControlCode::Status) and the status in its fields.
    ///
    /// Override it (with [`take_status`](Self::take_status)) where the type has
    /// fields for a status. The default, for types that carry only an id and a
    /// code, sends the control code closest to the status
    /// ([`StatusCode::control_code`](crate::StatusCode::control_code): `Failed`
    /// for `Internal`, `Unavailable` for `Unavailable`, otherwise `Cancel`) and
    /// the message is lost.
    #[must_use]
    fn with_status(id: u64, status: Status) -> Self {
        Self::control(id, status.code().control_code())
    }

    /// The status of a message with control code [`Status`](ControlCode::Status),
    /// taken out of it. `None` (the default) where the type has no fields for one;
    /// the client then reports [`StatusCode::Unknown`](crate::StatusCode::Unknown).
    fn take_status(&mut self) -> Option<Status> {
        None
    }

    /// The metadata this message carries, taken out of it (empty when it has none,
    /// and always for types without a place for it, the default).
    fn take_metadata(&mut self) -> Metadata {
        Metadata::new()
    }

    /// Puts `metadata` on this message. The default drops it: the type has no
    /// place for metadata.
    fn set_metadata(&mut self, metadata: Metadata) {
        let _ = metadata;
    }

    /// The time the caller gives the rpc, from when the server reads the request:
    /// a request's deadline as time left, so that the two hosts' clocks need not
    /// agree. `None` (the default) is no deadline.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// The stream credit this message carries: on a streaming request, how many
    /// responses the client takes before it grants more (its window); on a
    /// [`Credit`](ControlCode::Credit) message, how many more messages the
    /// receiver may send. 0 (the default) is none.
    ///
    /// Override it (with [`set_credit`](Self::set_credit)) where the type has a
    /// field for it (with prost, a `uint32`); both ends then bound every stream by
    /// credit, and a stalled stream costs the connection's other calls nothing.
    /// Without it, a full stream buffer pauses the whole connection instead.
    fn credit(&self) -> u32 {
        0
    }

    /// Puts stream credit on this message. The default drops it: the type has no
    /// place for it, and flow control falls back to pausing the connection.
    fn set_credit(&mut self, credit: u32) {
        let _ = credit;
    }

    /// Sets the time the caller gives the rpc. The default drops it: the type
    /// has no place for it, and the server runs the rpc without a deadline (the
    /// client still gives up at its own).
    fn set_timeout(&mut self, timeout: Option<Duration>) {
        let _ = timeout;
    }
}

/// A `Credit` message granting `credit` for rpc `id`.
pub(crate) fn credit_message<M: Message>(id: u64, credit: u32) -> M {
    let mut message = M::control(id, ControlCode::Credit);
    message.set_credit(credit);
    message
}

/// Whether messages of type `M` carry credit: a `Credit` message keeps its code
/// and its count.
pub(crate) fn speaks_credit<M: Message>() -> bool {
    let message: M = credit_message(0, 1);
    message.control_code() == ControlCode::Credit && message.credit() == 1
}
