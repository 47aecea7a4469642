//! How a call can fail.

use std::fmt;
use std::io;

/// Why a call ended without its response (or before its stream completed).
///
/// Every call ends with exactly one outcome: its response (or a complete stream),
/// or one of these.
#[derive(Debug)]
pub enum Error {
    /// The server answered `Cancel`: it rejected the request, dropped the rpc's
    /// work, or sent a control code this client does not know. A unary call that
    /// the server ended with `End` and no response also reports this.
    Cancelled,
    /// The connection closed (or was never running) before the call finished: the
    /// server went away, an i/o or decode error closed it, or its
    /// [`ClientConnection`](crate::ClientConnection) future was dropped.
    ConnectionClosed,
    /// The call's deadline passed; `Cancel` was sent to the server.
    DeadlineExceeded,
    /// Connecting failed.
    Io(io::Error),
}

impl Error {
    /// Whether this is [`Error::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Error::Cancelled)
    }

    /// Whether this is [`Error::ConnectionClosed`].
    pub fn is_connection_closed(&self) -> bool {
        matches!(self, Error::ConnectionClosed)
    }

    /// Whether this is [`Error::DeadlineExceeded`].
    pub fn is_deadline_exceeded(&self) -> bool {
        matches!(self, Error::DeadlineExceeded)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled => f.write_str("the rpc was cancelled by the server"),
            Error::ConnectionClosed => f.write_str("the connection closed"),
            Error::DeadlineExceeded => f.write_str("the rpc's deadline passed"),
            Error::Io(error) => write!(f, "i/o error: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}
