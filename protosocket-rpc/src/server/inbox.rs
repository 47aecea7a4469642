//! Request streams: the later messages of a client-streaming or bidirectional
//! rpc, handed from the connection to the rpc's handler.
//!
//! The client opens such an rpc with a `Normal` request (id N), sends more
//! `Normal` messages with id N (the items), then `End(N)`. The reactor routes the
//! items of an rpc whose service took a request stream
//! ([`ConnectionService::takes_request_stream`](crate::server::ConnectionService::takes_request_stream))
//! into a bounded [`RequestStream`]; when it is full the connection stops reading
//! until the handler takes an item, so a slow handler holds the client back
//! through TCP instead of growing a buffer.
//!
//! An rpc that took a request stream keeps its id in flight until the client ends
//! its input (`End(N)` or `Cancel(N)`), even when its work finished first: an
//! item still on its way then finds the rpc and is dropped, instead of starting a
//! new rpc under the same id.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::stream_buffer::{BufferReader, Next};

/// The requests a client sends after the first one of a client-streaming or
/// bidirectional rpc, in order; it ends (`None`) when the client sends `End`,
/// cancels the rpc, or the connection's input ends.
///
/// It buffers at most
/// [`request_stream_buffer`](crate::server::RpcServerConfig::request_stream_buffer)
/// requests: while it is full the connection reads nothing more from that
/// client, so a handler that reads slowly (or not at all) holds the client's
/// sender back, and every other rpc of the connection waits with it.
///
/// Dropping it discards what it holds and what still arrives for the rpc.
///
/// ```
/// use futures_core::stream::BoxStream;
/// use protosocket_rpc::server::{CallContext, ConnectionService, RequestStream, Rpc, UnaryFuture};
/// use protosocket_rpc::{ControlCode, Message};
///
/// #[derive(Debug, Default)]
/// struct Number {
///     id: u64,
///     code: u32,
///     value: u64,
/// }
/// # impl Message for Number {
/// #     fn message_id(&self) -> u64 { self.id }
/// #     fn set_message_id(&mut self, id: u64) { self.id = id }
/// #     fn control_code(&self) -> ControlCode { ControlCode::from_u32(self.code) }
/// #     fn cancelled(id: u64) -> Self { Number { id, code: 1, value: 0 } }
/// #     fn ended(id: u64) -> Self { Number { id, code: 2, value: 0 } }
/// # }
///
/// /// A request with value 0 opens a sum of the numbers that follow it.
/// struct Adder;
///
/// impl ConnectionService for Adder {
///     type Request = Number;
///     type Response = Number;
///     // Any future, not boxed (kept inline when it fits).
///     type Unary = UnaryFuture<Number>;
///     type Streaming = BoxStream<'static, Number>;
///
///     fn new_rpc(&mut self, request: Number) -> Rpc<Self::Unary, Self::Streaming> {
///         Rpc::Unary(UnaryFuture::new(std::future::ready(request)))
///     }
///
///     fn takes_request_stream(&self, request: &Number) -> bool {
///         request.value == 0
///     }
///
///     fn new_rpc_with_requests(
///         &mut self,
///         _first: Number,
///         _context: CallContext,
///         mut numbers: RequestStream<Number>,
///     ) -> Rpc<Self::Unary, Self::Streaming> {
///         Rpc::Unary(UnaryFuture::new(async move {
///             let mut value = 0;
///             while let Some(number) = std::future::poll_fn(|cx| {
///                 futures_core::Stream::poll_next(std::pin::Pin::new(&mut numbers), cx)
///             })
///             .await
///             {
///                 value += number.value;
///             }
///             Number { value, ..Default::default() }
///         }))
///     }
/// }
/// ```
pub struct RequestStream<Req> {
    reader: BufferReader<Req, ()>,
    ended: bool,
}

impl<Req> RequestStream<Req> {
    pub(crate) fn new(reader: BufferReader<Req, ()>) -> Self {
        Self {
            reader,
            ended: false,
        }
    }

    /// Requests received and not yet read.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.reader.len()
    }
}

impl<Req> Stream for RequestStream<Req> {
    type Item = Req;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Req>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match std::task::ready!(this.reader.poll_next(cx)) {
            Next::Item(request) => Poll::Ready(Some(request)),
            Next::End(()) | Next::Closed => {
                this.ended = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<Req> futures_core::FusedStream for RequestStream<Req> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<Req> fmt::Debug for RequestStream<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestStream")
            .field("buffered", &self.reader.len())
            .field("ended", &self.ended)
            .finish()
    }
}
