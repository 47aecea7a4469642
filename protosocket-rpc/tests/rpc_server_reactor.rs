//! The server reactor driven by hand: a unary rpc that is ready on arrival is
//! answered without ever being in flight; other work is tracked until it ends.

mod support;

use std::task::{Context, Poll, Waker};

use protosocket::{MessageReactor, ReactorStatus, Replies};
use protosocket_rpc::server::RpcServerReactor;
use protosocket_rpc::{ControlCode, Message};
use support::{TestService, Text, TextCodec};

fn request(id: u64, text: &str) -> Text {
    Text {
        id,
        ..Text::new(text)
    }
}

/// The reactor and its replies, taken in the order the connection takes them.
struct Harness {
    reactor: RpcServerReactor<TestService, TextCodec>,
    replies: Replies<Text>,
}

impl Harness {
    fn new() -> Self {
        let (outbound, _receiver) = spillway::channel();
        Self {
            reactor: RpcServerReactor::new(TestService::default(), outbound, 16),
            replies: Replies::new(),
        }
    }

    fn inbound(&mut self, message: Text) -> ReactorStatus {
        self.reactor.on_inbound_message(message, &mut self.replies)
    }

    /// The next message to send: a reply, else the reactor's own producer.
    fn next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Text>> {
        match self.replies.pop() {
            Some(reply) => Poll::Ready(Some(reply)),
            None => self.reactor.poll_outbound(cx),
        }
    }
}

#[test]
fn a_unary_rpc_ready_at_once_is_answered_without_being_in_flight() {
    let mut reactor = Harness::new();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        reactor.inbound(request(7, "echo:hi")),
        ReactorStatus::Continue
    );
    assert_eq!(reactor.reactor.in_flight(), 0, "finished on its first poll");
    let Poll::Ready(Some(answer)) = reactor.next(&mut cx) else {
        panic!("the answer is queued");
    };
    assert_eq!(answer.message_id(), 7);
    assert_eq!(answer.control_code(), ControlCode::Normal);
    assert_eq!(answer.text, "hi");
    assert!(reactor.next(&mut cx).is_pending());
    // The rpc's work was dropped when it finished.
    assert_eq!(reactor.reactor.service().drops.dropped(), 1);
}

#[test]
fn a_pending_unary_rpc_stays_in_flight_until_cancelled() {
    let mut reactor = Harness::new();
    let mut cx = Context::from_waker(Waker::noop());
    reactor.inbound(request(3, "hang"));
    assert_eq!(reactor.reactor.in_flight(), 1);
    assert!(reactor.next(&mut cx).is_pending(), "nothing to send");
    // Its id is taken while it runs.
    reactor.inbound(request(3, "echo:again"));
    let Poll::Ready(Some(rejected)) = reactor.next(&mut cx) else {
        panic!("a duplicate id is answered");
    };
    assert_eq!(
        (rejected.message_id(), rejected.control_code()),
        (3, ControlCode::Cancel)
    );
    // A cancel drops the work and is answered.
    reactor.inbound(Text::cancelled(3));
    assert_eq!(reactor.reactor.in_flight(), 0);
    // The duplicate never reached the service; the hung rpc's work is dropped.
    assert_eq!(reactor.reactor.service().drops.dropped(), 1);
    let Poll::Ready(Some(cancelled)) = reactor.next(&mut cx) else {
        panic!("the cancel is answered");
    };
    assert_eq!(
        (cancelled.message_id(), cancelled.control_code()),
        (3, ControlCode::Cancel)
    );
}

#[test]
fn a_slot_freed_at_once_serves_the_next_rpcs() {
    let mut reactor = Harness::new();
    let mut cx = Context::from_waker(Waker::noop());
    for id in 1..=100 {
        reactor.inbound(request(id, "echo:x"));
        let Poll::Ready(Some(answer)) = reactor.next(&mut cx) else {
            panic!("answer {id}");
        };
        assert_eq!(answer.message_id(), id);
    }
    // A stream is still polled from poll_outbound, in turn, then ended.
    reactor.inbound(request(200, "stream:2"));
    let mut texts = Vec::new();
    while let Poll::Ready(Some(item)) = reactor.next(&mut cx) {
        assert_eq!(item.message_id(), 200);
        texts.push((item.control_code(), item.text));
    }
    assert_eq!(
        texts,
        [
            (ControlCode::Normal, "0".to_string()),
            (ControlCode::Normal, "1".to_string()),
            (ControlCode::End, String::new()),
        ]
    );
    assert_eq!(reactor.reactor.in_flight(), 0);
}
