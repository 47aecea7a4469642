//! The echo schema as serde types, and how each carries its rpc id and control code.

use protosocket_rpc::{ControlCode, Message};
use serde::{Deserialize, Serialize};

/// What a client asks for.
///
/// Fields default when absent, so peers may add fields without breaking readers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    /// The rpc id, set by the client connection.
    pub request_id: u64,
    /// The control code on the wire (see [`ControlCode`]).
    pub code: u32,
    /// What to echo; a request without one is rejected.
    pub body: Option<EchoRequest>,
    /// Whether to answer once or as a stream of characters.
    pub response_behavior: ResponseBehavior,
}

impl Request {
    /// A `Normal` request to echo `message` in the given way (the id is set when sent).
    pub fn echo(message: impl Into<String>, nanotime: u64, behavior: ResponseBehavior) -> Self {
        Request {
            request_id: 0,
            code: ControlCode::Normal.as_u32(),
            body: Some(EchoRequest {
                message: message.into(),
                nanotime,
            }),
            response_behavior: behavior,
        }
    }
}

/// How the server answers a [`Request`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseBehavior {
    /// One [`EchoResponse`].
    #[default]
    Unary,
    /// One [`EchoStream`] per character of the message, then `End`.
    Stream,
}

/// The payload of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoRequest {
    /// The text to echo.
    pub message: String,
    /// A timestamp chosen by the client, echoed back untouched.
    pub nanotime: u64,
}

/// What the server answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Response {
    /// The id of the rpc this answers.
    pub request_id: u64,
    /// The control code on the wire (see [`ControlCode`]).
    pub code: u32,
    /// The answer; control messages (`Cancel`, `End`) have none.
    pub kind: Option<ResponseKind>,
}

/// The two kinds of answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseKind {
    /// The answer to a unary request.
    Echo(EchoResponse),
    /// One item of a streamed answer.
    Stream(EchoStream),
}

/// A unary answer: the request's message and nanotime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoResponse {
    /// The request's message.
    pub message: String,
    /// The request's nanotime.
    pub nanotime: u64,
}

/// One item of a streamed answer: one character of the request's message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoStream {
    /// One character of the request's message.
    pub message: String,
    /// The request's nanotime.
    pub nanotime: u64,
    /// The character's position in the message, counted in characters from 0.
    pub sequence: u64,
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
