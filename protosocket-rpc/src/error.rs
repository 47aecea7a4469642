//! How a call can fail.

use std::fmt;
use std::io;

use protosocket::CloseReason;

/// Why a call ended without its response (or before its stream completed).
///
/// Every call ends with exactly one outcome: its response (or a complete stream),
/// or one of these.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered `Cancel`: it rejected the request (the service said no,
    /// or too many rpcs were in flight), dropped the rpc's work, or sent a control
    /// code this client does not know. A unary call that the server ended with
    /// `End` and no response also reports this.
    Cancelled,
    /// The server's handler for this call failed (it panicked); the server logged
    /// it with the call's id, and its other calls go on.
    Failed,
    /// The server refused the call without running it, because it is shutting
    /// down: sending it again (to another server) is safe.
    Unavailable,
    /// The connection ended before the call finished, for this reason: the server
    /// closed it ([`CloseReason::PeerClosed`]), an i/o or decode error, a write
    /// stall, the client's connection task was dropped ([`CloseReason::Dropped`]).
    /// Whether the server ran the call is unknown.
    ConnectionClosed(CloseReason),
    /// The call's deadline passed; `Cancel` was sent to the server.
    DeadlineExceeded,
    /// Connecting failed.
    Io(io::Error),
}

impl Error {
    /// Whether this is [`Error::Cancelled`].
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }

    /// Whether this is [`Error::ConnectionClosed`].
    #[must_use]
    pub fn is_connection_closed(&self) -> bool {
        matches!(self, Error::ConnectionClosed(_))
    }

    /// Whether this is [`Error::DeadlineExceeded`].
    #[must_use]
    pub fn is_deadline_exceeded(&self) -> bool {
        matches!(self, Error::DeadlineExceeded)
    }

    /// The reason of an [`Error::ConnectionClosed`].
    #[must_use]
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match self {
            Error::ConnectionClosed(reason) => Some(reason),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled => f.write_str("the rpc was cancelled by the server"),
            Error::Failed => f.write_str("the server's handler for the rpc failed"),
            Error::Unavailable => {
                f.write_str("the server is shutting down and refused the rpc without running it")
            }
            Error::ConnectionClosed(reason) => write!(f, "the connection closed: {reason}"),
            Error::DeadlineExceeded => f.write_str("the rpc's deadline passed"),
            Error::Io(error) => write!(f, "i/o error: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(error) => Some(error),
            Error::ConnectionClosed(CloseReason::Io(error)) => Some(&**error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}
