//! How a call can fail.

use std::fmt;
use std::io;

use protosocket::CloseReason;

use crate::status::{Status, StatusCode};

/// Why a call ended without its response (or before its stream completed).
///
/// Every call ends with exactly one outcome: its response (or a complete stream),
/// or one of these. [`status_code`](Self::status_code) sorts them all into
/// [`StatusCode`]s.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The call failed with this status: the server's handler failed the call,
    /// the server refused it (the service or a hook said no:
    /// [`PermissionDenied`](StatusCode::PermissionDenied) say; too many rpcs in
    /// flight: [`ResourceExhausted`](StatusCode::ResourceExhausted); shutting
    /// down: [`Unavailable`](StatusCode::Unavailable)), the handler panicked
    /// ([`Internal`](StatusCode::Internal)), the server cancelled it
    /// ([`Cancelled`](StatusCode::Cancelled)), a client hook refused to send it,
    /// or its deadline passed ([`DeadlineExceeded`](StatusCode::DeadlineExceeded),
    /// the client's own deadline or the server's; `Cancel` was sent).
    ///
    /// A server whose messages carry no status fields (an upstream 2.x peer)
    /// says less: its `Cancel` reads as `Cancelled`, `Failed` as `Internal`,
    /// `Unavailable` as `Unavailable` (see [`Status::from_control_code`]).
    Status(Status),
    /// The connection ended before the call finished, for this reason: the server
    /// closed it ([`CloseReason::PeerClosed`]), an i/o or decode error, a write
    /// stall, the client's connection task was dropped ([`CloseReason::Dropped`]).
    /// Whether the server ran the call is unknown.
    ConnectionClosed(CloseReason),
    /// Connecting failed.
    Io(io::Error),
}

impl Error {
    /// The status of the failure: an [`Error::Status`]'s own code, and
    /// [`Unavailable`](StatusCode::Unavailable) for a closed connection or an
    /// i/o error (gRPC's code for a transport failure).
    ///
    /// ```
    /// use protosocket_rpc::{Error, Status, StatusCode};
    ///
    /// let error = Error::Status(Status::not_found("no such key"));
    /// assert_eq!(error.status_code(), StatusCode::NotFound);
    /// let closed = Error::ConnectionClosed(protosocket::CloseReason::PeerClosed);
    /// assert_eq!(closed.status_code(), StatusCode::Unavailable);
    /// ```
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::Status(status) => status.code(),
            Error::ConnectionClosed(_) | Error::Io(_) => StatusCode::Unavailable,
        }
    }

    /// The status of an [`Error::Status`].
    #[must_use]
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Status(status) => Some(status),
            _ => None,
        }
    }

    /// Whether the call was cancelled by the server (or refused by a peer that
    /// knows no finer code): an [`Error::Status`] with
    /// [`StatusCode::Cancelled`].
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.has_status(StatusCode::Cancelled)
    }

    /// Whether this is [`Error::ConnectionClosed`].
    #[must_use]
    pub fn is_connection_closed(&self) -> bool {
        matches!(self, Error::ConnectionClosed(_))
    }

    /// Whether the call's deadline passed: an [`Error::Status`] with
    /// [`StatusCode::DeadlineExceeded`].
    #[must_use]
    pub fn is_deadline_exceeded(&self) -> bool {
        self.has_status(StatusCode::DeadlineExceeded)
    }

    /// The reason of an [`Error::ConnectionClosed`].
    #[must_use]
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match self {
            Error::ConnectionClosed(reason) => Some(reason),
            _ => None,
        }
    }

    fn has_status(&self, code: StatusCode) -> bool {
        matches!(self, Error::Status(status) if status.code() == code)
    }

    /// The client's own deadline passed.
    pub(crate) fn deadline_exceeded() -> Self {
        Error::Status(Status::deadline_exceeded("the call's deadline passed"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status(status) => write!(f, "{status}"),
            Error::ConnectionClosed(reason) => write!(f, "the connection closed: {reason}"),
            Error::Io(error) => write!(f, "i/o error: {error}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(error) => Some(error),
            Error::ConnectionClosed(CloseReason::Io(error)) => Some(&**error),
            Error::Status(_) | Error::ConnectionClosed(_) => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Error::Io(error)
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Error::Status(status)
    }
}
