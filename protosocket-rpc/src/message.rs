//! What an rpc message must tell the connection: its id and its control code.

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
///
/// Any other value is read as `Cancel`, so a peer speaking a newer protocol never
/// leaves a call waiting. An upstream 2.x peer reads `Failed` and `Unavailable` as
/// `Cancel` for the same reason, which is a correct outcome for it: the rpc ended
/// without a response. It reads `Ping` and `Pong` (always id 0, which no call
/// uses) as a `Cancel` for an rpc it does not know, and ignores them.
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
/// assert_eq!(Echo { code: 9, ..Default::default() }.control_code(), ControlCode::Cancel);
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
}
