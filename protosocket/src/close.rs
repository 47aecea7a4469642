//! Why a connection closed.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::InvalidFrame;

/// Why a [`Connection`](crate::Connection) ended: logged when it closes, handed to
/// the reactor's [`on_closed`](crate::MessageReactor::on_closed) and readable from
/// [`Connection::close_reason`](crate::Connection::close_reason).
///
/// Cheap to clone (an i/o error is shared), so a layer above can give every call
/// the connection ends its own copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CloseReason {
    /// Its owner closed it gracefully with [`Connection::close`](crate::Connection::close)
    /// (a server shutting down does this to each of its connections).
    Requested,
    /// The reactor returned [`ReactorStatus::Disconnect`](crate::ReactorStatus::Disconnect).
    Reactor,
    /// The peer closed its side of the stream (EOF).
    PeerClosed,
    /// Every outbound sender is gone (for a client: every handle and call dropped).
    SendersGone,
    /// The decoder found bytes that can never be a message.
    InvalidFrame(InvalidFrame),
    /// An inbound frame announced (or grew to) more than `max_buffer_length`.
    FrameTooLarge {
        /// The frame's length, prefix included, as far as it is known.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// Growing the receive buffer would have taken the inbound bytes buffered by all
    /// connections sharing an [`InboundMemory`](crate::InboundMemory) over its limit.
    InboundMemoryExhausted {
        /// The bytes the shared budget allows.
        limit: usize,
    },
    /// The peer took no bytes for `write_stall_timeout` while some were queued.
    WriteStalled(Duration),
    /// The peer sent nothing for this long while it owed an answer (see
    /// [`Liveness`](crate::Liveness)): hung, or cut off.
    PeerUnresponsive(Duration),
    /// Reading or writing the stream failed.
    Io(Arc<io::Error>),
    /// The connection was dropped before it finished: its task was aborted, or its
    /// owner gave up on it (a server whose grace period ran out).
    Dropped,
}

impl CloseReason {
    /// Whether the close is worth more than a debug line: bad input or a stuck
    /// peer, but not a peer that simply reset its connection (or, over TLS,
    /// closed it without a `close_notify`, as a killed process does:
    /// `UnexpectedEof`).
    #[must_use]
    pub fn is_error(&self) -> bool {
        match self {
            CloseReason::Io(error) => !matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            ),
            CloseReason::InvalidFrame(_)
            | CloseReason::FrameTooLarge { .. }
            | CloseReason::InboundMemoryExhausted { .. }
            | CloseReason::WriteStalled(_)
            | CloseReason::PeerUnresponsive(_) => true,
            CloseReason::Requested
            | CloseReason::Reactor
            | CloseReason::PeerClosed
            | CloseReason::SendersGone
            | CloseReason::Dropped => false,
        }
    }
}

impl From<io::Error> for CloseReason {
    fn from(error: io::Error) -> Self {
        CloseReason::Io(Arc::new(error))
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Requested => f.write_str("closed by its owner"),
            CloseReason::Reactor => f.write_str("the reactor disconnected"),
            CloseReason::PeerClosed => f.write_str("the peer closed its side"),
            CloseReason::SendersGone => f.write_str("every outbound sender is gone"),
            CloseReason::InvalidFrame(invalid) => invalid.fmt(f),
            CloseReason::FrameTooLarge { len, max } => {
                write!(f, "inbound frame of {len} bytes is over the limit of {max}")
            }
            CloseReason::InboundMemoryExhausted { limit } => write!(
                f,
                "inbound buffers of all connections would exceed their shared limit of {limit} bytes"
            ),
            CloseReason::WriteStalled(timeout) => write!(
                f,
                "the peer took no bytes for {timeout:?} (write stall timeout)"
            ),
            CloseReason::PeerUnresponsive(timeout) => write!(
                f,
                "the peer sent nothing for {timeout:?} while an answer was due (liveness timeout)"
            ),
            CloseReason::Io(error) => write!(f, "i/o error: {error}"),
            CloseReason::Dropped => f.write_str("the connection was dropped before it finished"),
        }
    }
}
