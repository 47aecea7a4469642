//! The echo schema of DESIGN.md, written by hand with prost's derives, and the
//! [`Message`] impls that let protosocket-rpc route them.

use protosocket_rpc::{ControlCode, Message};

/// A call from a client: the rpc envelope (id, control code) and an echo body.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// The rpc this request starts (or cancels); set by the client.
    #[prost(uint64, tag = "1")]
    pub request_id: u64,
    /// The wire control code: 0 normal, 1 cancel, 2 end.
    #[prost(uint32, tag = "2")]
    pub code: u32,
    /// What to echo; a request without one is rejected with `Cancel`.
    #[prost(message, optional, tag = "3")]
    pub body: Option<EchoRequest>,
    /// How to answer: one [`EchoResponse`] or a stream of [`EchoStream`]s.
    #[prost(enumeration = "ResponseBehavior", tag = "4")]
    pub response_behavior: i32,
}

/// How the server answers a [`Request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ResponseBehavior {
    /// One [`EchoResponse`].
    Unary = 0,
    /// One [`EchoStream`] per character of the message, then `End`.
    Stream = 1,
}

/// The body of a [`Request`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoRequest {
    /// The text to echo.
    #[prost(string, tag = "1")]
    pub message: String,
    /// A timestamp chosen by the client, echoed back untouched.
    #[prost(uint64, tag = "2")]
    pub nanotime: u64,
}

/// A server's answer: the rpc envelope and, unless it is a control message, one
/// [`response::Kind`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Response {
    /// The rpc this response belongs to.
    #[prost(uint64, tag = "1")]
    pub request_id: u64,
    /// The wire control code: 0 normal, 1 cancel, 2 end.
    #[prost(uint32, tag = "2")]
    pub code: u32,
    /// The payload; absent on `Cancel` and `End`.
    #[prost(oneof = "response::Kind", tags = "3, 4")]
    pub kind: Option<response::Kind>,
}

/// The nested types of [`Response`].
pub mod response {
    /// What a [`Response`](super::Response) carries.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        /// The answer to a unary request.
        #[prost(message, tag = "3")]
        Echo(super::EchoResponse),
        /// One item of a streaming answer.
        #[prost(message, tag = "4")]
        Stream(super::EchoStream),
    }
}

/// The answer to a unary request: its message and nanotime, unchanged.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoResponse {
    /// The request's message.
    #[prost(string, tag = "1")]
    pub message: String,
    /// The request's nanotime.
    #[prost(uint64, tag = "2")]
    pub nanotime: u64,
}

/// One item of a streaming answer: one character of the request's message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoStream {
    /// The character, as a string.
    #[prost(string, tag = "1")]
    pub message: String,
    /// The request's nanotime.
    #[prost(uint64, tag = "2")]
    pub nanotime: u64,
    /// The character's position in the message, counted in characters from 0.
    #[prost(uint64, tag = "3")]
    pub sequence: u64,
}

impl Request {
    /// A normal request for `behavior` carrying `message` and `nanotime`; the
    /// client assigns the id.
    pub fn echo(message: impl Into<String>, nanotime: u64, behavior: ResponseBehavior) -> Self {
        Request {
            request_id: 0,
            code: ControlCode::Normal.as_u32(),
            body: Some(EchoRequest {
                message: message.into(),
                nanotime,
            }),
            response_behavior: behavior as i32,
        }
    }
}

impl Message for Request {
    fn message_id(&self) -> u64 {
        self.request_id
    }

    fn set_message_id(&mut self, id: u64) {
        self.request_id = id;
    }

    fn control_code(&self) -> ControlCode {
        ControlCode::from_u32(self.code)
    }

    fn cancelled(id: u64) -> Self {
        Request {
            request_id: id,
            code: ControlCode::Cancel.as_u32(),
            ..Default::default()
        }
    }

    fn ended(id: u64) -> Self {
        Request {
            request_id: id,
            code: ControlCode::End.as_u32(),
            ..Default::default()
        }
    }
}

impl Message for Response {
    fn message_id(&self) -> u64 {
        self.request_id
    }

    fn set_message_id(&mut self, id: u64) {
        self.request_id = id;
    }

    fn control_code(&self) -> ControlCode {
        ControlCode::from_u32(self.code)
    }

    fn cancelled(id: u64) -> Self {
        Response {
            request_id: id,
            code: ControlCode::Cancel.as_u32(),
            kind: None,
        }
    }

    fn ended(id: u64) -> Self {
        Response {
            request_id: id,
            code: ControlCode::End.as_u32(),
            kind: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_carry_id_and_code_only() {
        let cancelled = Response::cancelled(3);
        assert_eq!((cancelled.request_id, cancelled.code), (3, 1));
        assert_eq!(cancelled.kind, None);
        assert_eq!(Response::ended(4).control_code(), ControlCode::End);
        assert_eq!(Request::cancelled(5).control_code(), ControlCode::Cancel);
        assert_eq!(Request::ended(6).body, None);
        let unknown = Request {
            code: 99,
            ..Request::default()
        };
        assert_eq!(unknown.control_code(), ControlCode::Cancel);
    }

    #[test]
    fn fields_use_the_designed_tags() {
        use prost::Message as _;
        let mut request = Request::echo("a", 1, ResponseBehavior::Stream);
        request.request_id = 2;
        // tag 1 varint 2, tag 2 varint 0 omitted, tag 3 len 5 {tag 1 "a", tag 2 1}, tag 4 varint 1
        assert_eq!(
            request.encode_to_vec(),
            [0x08, 2, 0x1a, 5, 0x0a, 1, b'a', 0x10, 1, 0x20, 1]
        );
    }
}
