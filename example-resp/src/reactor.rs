//! What a connection does with each request.

use protosocket::{spillway, MessageReactor, PooledEncoder, ReactorStatus, Replies};

use crate::codec::{Request, RespDecoder};
use crate::reply::{Frame, Reply, RespSerializer};
use crate::session::{After, Session};
use crate::store::Store;

/// Runs one connection's commands, synchronously in
/// [`on_inbound_message`](MessageReactor::on_inbound_message): the store is in
/// memory, so a command costs less than a task would.
///
/// Each request gets exactly one reply, pushed to the connection's replies, so
/// replies leave in request order and a pipelining client is held back only by
/// the connection decoding less (never disconnected). A protocol error is
/// answered with `-ERR Protocol error: ...` and the connection closes once the
/// replies before it and that error are sent; `QUIT` likewise after its `+OK`.
#[derive(Debug)]
pub struct RespReactor<S> {
    session: Session<S>,
    /// Kept so the connection stays open: it ends when every sender is gone.
    _outbound: spillway::Sender<Frame>,
}

impl<S> RespReactor<S> {
    /// A reactor for `session`, holding the connection's `outbound` sender.
    pub fn new(session: Session<S>, outbound: spillway::Sender<Frame>) -> Self {
        Self {
            session,
            _outbound: outbound,
        }
    }
}

impl<S: Store> MessageReactor for RespReactor<S> {
    type Codec = (PooledEncoder<RespSerializer>, RespDecoder);
    type Inbound = Request;
    type Outbound = Frame;
    type LogicalOutbound = Frame;

    #[inline]
    fn on_inbound_message(
        &mut self,
        request: Request,
        replies: &mut Replies<Frame>,
    ) -> ReactorStatus {
        let (reply, after) = match request {
            Request::Command(args) => self.session.execute(&args),
            Request::ProtocolError(reason) => {
                tracing::debug!(reason, "protocol error; closing the connection");
                (
                    Reply::Error(format!("ERR Protocol error: {reason}").into()),
                    After::Close,
                )
            }
            Request::UnexpectedByte(byte) => {
                tracing::debug!(byte, "protocol error; closing the connection");
                let reason = format!("ERR Protocol error: expected '$', got '{}'", byte as char);
                (Reply::Error(reason.into()), After::Close)
            }
        };
        // The protocol after the command: `HELLO 3` is answered in RESP3.
        let protocol = self.session.protocol();
        replies.push(Frame { reply, protocol });
        match after {
            After::Continue => ReactorStatus::Continue,
            After::Close => ReactorStatus::Disconnect,
        }
    }

    #[inline]
    fn on_outbound_message(&mut self, frame: Frame) -> Frame {
        frame
    }
}
