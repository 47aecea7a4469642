//! Why a call failed, as the server (or the client's own rpc layer) says it: a
//! code from a small fixed set and a message for people.

use std::borrow::Cow;
use std::fmt;

use crate::message::ControlCode;

/// What kind of failure a [`Status`] reports.
///
/// The codes and their numbers are gRPC's, so that people who know those know
/// these, and a status can cross into a gRPC system unchanged. A number this
/// crate does not know reads as [`Unknown`](StatusCode::Unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusCode {
    /// The call was cancelled: by the client, by the server's own choice, or by a
    /// peer that knows no finer code (an upstream 2.x server answers every
    /// refusal with `Cancel`).
    Cancelled = 1,
    /// A failure that fits no other code.
    Unknown = 2,
    /// The request is malformed or its arguments are wrong, whatever the state of
    /// the server.
    InvalidArgument = 3,
    /// The call's deadline passed before it finished.
    DeadlineExceeded = 4,
    /// What the request names does not exist.
    NotFound = 5,
    /// What the request would create exists already.
    AlreadyExists = 6,
    /// The caller is known but may not do this.
    PermissionDenied = 7,
    /// A limit was reached: too many calls in flight on the connection, a quota.
    ResourceExhausted = 8,
    /// The server is not in the state the call needs (a precondition failed).
    FailedPrecondition = 9,
    /// The call was aborted, typically by a conflict with another call.
    Aborted = 10,
    /// An argument is past the valid range.
    OutOfRange = 11,
    /// The server does not implement this call.
    Unimplemented = 12,
    /// The server broke one of its own invariants: a handler panicked, say.
    Internal = 13,
    /// The server cannot take the call now (it is shutting down, or a dependency
    /// is down): sending it again, maybe elsewhere, may succeed.
    Unavailable = 14,
    /// Data was lost or corrupted.
    DataLoss = 15,
    /// The caller did not prove who it is.
    Unauthenticated = 16,
}

impl StatusCode {
    /// Every code, in number order.
    pub const ALL: [StatusCode; 16] = [
        StatusCode::Cancelled,
        StatusCode::Unknown,
        StatusCode::InvalidArgument,
        StatusCode::DeadlineExceeded,
        StatusCode::NotFound,
        StatusCode::AlreadyExists,
        StatusCode::PermissionDenied,
        StatusCode::ResourceExhausted,
        StatusCode::FailedPrecondition,
        StatusCode::Aborted,
        StatusCode::OutOfRange,
        StatusCode::Unimplemented,
        StatusCode::Internal,
        StatusCode::Unavailable,
        StatusCode::DataLoss,
        StatusCode::Unauthenticated,
    ];

    /// Reads a wire value; numbers it does not know (0 among them: success is not
    /// a status) are [`Unknown`](StatusCode::Unknown).
    ///
    /// ```
    /// use protosocket_rpc::StatusCode;
    ///
    /// assert_eq!(StatusCode::from_u32(5), StatusCode::NotFound);
    /// assert_eq!(StatusCode::from_u32(99), StatusCode::Unknown);
    /// ```
    #[must_use]
    pub fn from_u32(value: u32) -> Self {
        value
            .checked_sub(1)
            .and_then(|index| Self::ALL.get(index as usize))
            .copied()
            .unwrap_or(StatusCode::Unknown)
    }

    /// The wire value.
    #[must_use]
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The control code that says as much as a message without a status can: what
    /// a server sends for this status when its message type carries only an id
    /// and a code (see [`Message::with_status`](crate::Message::with_status)).
    #[must_use]
    pub fn control_code(self) -> ControlCode {
        match self {
            StatusCode::Internal => ControlCode::Failed,
            StatusCode::Unavailable => ControlCode::Unavailable,
            _ => ControlCode::Cancel,
        }
    }

    /// The name used in logs and in `Display`, as gRPC spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StatusCode::Cancelled => "CANCELLED",
            StatusCode::Unknown => "UNKNOWN",
            StatusCode::InvalidArgument => "INVALID_ARGUMENT",
            StatusCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            StatusCode::NotFound => "NOT_FOUND",
            StatusCode::AlreadyExists => "ALREADY_EXISTS",
            StatusCode::PermissionDenied => "PERMISSION_DENIED",
            StatusCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            StatusCode::FailedPrecondition => "FAILED_PRECONDITION",
            StatusCode::Aborted => "ABORTED",
            StatusCode::OutOfRange => "OUT_OF_RANGE",
            StatusCode::Unimplemented => "UNIMPLEMENTED",
            StatusCode::Internal => "INTERNAL",
            StatusCode::Unavailable => "UNAVAILABLE",
            StatusCode::DataLoss => "DATA_LOSS",
            StatusCode::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed call's outcome: a [`StatusCode`] and a message for people.
///
/// A handler returns one to fail its call; the client gets it back as
/// [`Error::Status`](crate::Error::Status). The message of a status made from a
/// fixed string is not allocated.
///
/// ```
/// use protosocket_rpc::{Status, StatusCode};
///
/// let status = Status::not_found("no key \"a\"");
/// assert_eq!(status.code(), StatusCode::NotFound);
/// assert_eq!(status.to_string(), "NOT_FOUND: no key \"a\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    code: StatusCode,
    message: Cow<'static, str>,
}

impl Status {
    /// A status with `code` and `message`.
    #[must_use]
    pub fn new(code: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The code.
    #[must_use]
    pub fn code(&self) -> StatusCode {
        self.code
    }

    /// The message for people; may be empty.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, owned.
    #[must_use]
    pub fn into_message(self) -> Cow<'static, str> {
        self.message
    }

    /// [`StatusCode::Cancelled`] with `message`.
    #[must_use]
    pub fn cancelled(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::Cancelled, message)
    }

    /// [`StatusCode::InvalidArgument`] with `message`.
    #[must_use]
    pub fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::InvalidArgument, message)
    }

    /// [`StatusCode::DeadlineExceeded`] with `message`.
    #[must_use]
    pub fn deadline_exceeded(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::DeadlineExceeded, message)
    }

    /// [`StatusCode::NotFound`] with `message`.
    #[must_use]
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NotFound, message)
    }

    /// [`StatusCode::AlreadyExists`] with `message`.
    #[must_use]
    pub fn already_exists(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::AlreadyExists, message)
    }

    /// [`StatusCode::PermissionDenied`] with `message`.
    #[must_use]
    pub fn permission_denied(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::PermissionDenied, message)
    }

    /// [`StatusCode::ResourceExhausted`] with `message`.
    #[must_use]
    pub fn resource_exhausted(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::ResourceExhausted, message)
    }

    /// [`StatusCode::FailedPrecondition`] with `message`.
    #[must_use]
    pub fn failed_precondition(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FailedPrecondition, message)
    }

    /// [`StatusCode::Unimplemented`] with `message`.
    #[must_use]
    pub fn unimplemented(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::Unimplemented, message)
    }

    /// [`StatusCode::Internal`] with `message`.
    #[must_use]
    pub fn internal(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::Internal, message)
    }

    /// [`StatusCode::Unavailable`] with `message`.
    #[must_use]
    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::Unavailable, message)
    }

    /// [`StatusCode::Unauthenticated`] with `message`.
    #[must_use]
    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::Unauthenticated, message)
    }

    /// What a control code alone says, for a peer whose messages carry no status:
    /// `Cancel` (and any code this crate does not know) is
    /// [`Cancelled`](StatusCode::Cancelled), `Failed` is
    /// [`Internal`](StatusCode::Internal), `Unavailable` is
    /// [`Unavailable`](StatusCode::Unavailable); `None` for the codes that end
    /// nothing (`Normal`, `End`, `Ping`, `Pong`, `Credit`, `Draining`,
    /// `Health`).
    #[must_use]
    pub fn from_control_code(code: ControlCode) -> Option<Self> {
        match code {
            ControlCode::Cancel => Some(Self::cancelled("cancelled by the server")),
            ControlCode::Failed => Some(Self::internal("the server's handler failed")),
            ControlCode::Unavailable => Some(Self::unavailable(
                "the server is shutting down and did not run the call",
            )),
            ControlCode::Status => Some(Self::unknown_status()),
            ControlCode::Normal
            | ControlCode::End
            | ControlCode::Ping
            | ControlCode::Pong
            | ControlCode::Credit
            | ControlCode::Draining
            | ControlCode::Health => None,
        }
    }

    /// What a `Status` control message says when its type cannot carry the
    /// status itself.
    fn unknown_status() -> Self {
        Self::new(
            StatusCode::Unknown,
            "the server sent a status this message type cannot carry",
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

impl std::error::Error for Status {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_number() {
        for code in StatusCode::ALL {
            assert_eq!(StatusCode::from_u32(code.as_u32()), code);
        }
        assert_eq!(StatusCode::from_u32(0), StatusCode::Unknown);
        assert_eq!(StatusCode::from_u32(17), StatusCode::Unknown);
        assert_eq!(StatusCode::from_u32(u32::MAX), StatusCode::Unknown);
    }

    #[test]
    fn control_codes_map_to_the_status_they_mean() {
        let code = |control| Status::from_control_code(control).map(|status| status.code());
        assert_eq!(code(ControlCode::Cancel), Some(StatusCode::Cancelled));
        assert_eq!(code(ControlCode::Failed), Some(StatusCode::Internal));
        assert_eq!(
            code(ControlCode::Unavailable),
            Some(StatusCode::Unavailable)
        );
        assert_eq!(code(ControlCode::Normal), None);
        assert_eq!(code(ControlCode::End), None);
        for status in StatusCode::ALL {
            let back = Status::from_control_code(status.control_code()).map(|s| s.code());
            assert!(
                back == Some(status) || back == Some(StatusCode::Cancelled),
                "{status} falls back to a code that reads as itself or as cancelled"
            );
        }
    }
}
