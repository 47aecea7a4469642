//! The server reactor driven by hand: a unary rpc that is ready on arrival is
//! answered without ever being in flight; other work is tracked until it ends.

mod support;

use std::task::{Context, Poll, Waker};

use protosocket::{MessageReactor, ReactorStatus};
use protosocket_rpc::{ControlCode, Message, RpcSubmitterReactor};
use support::{TestService, Text, TextCodec};

fn request(id: u64, text: &str) -> Text {
    Text {
        id,
        ..Text::new(text)
    }
}

fn reactor() -> RpcSubmitterReactor<TestService, TextCodec> {
    let (outbound, _receiver) = spillway::channel();
    RpcSubmitterReactor::new(TestService::default(), outbound, 16)
}

#[test]
fn a_unary_rpc_ready_at_once_is_answered_without_being_in_flight() {
    let mut reactor = reactor();
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        reactor.on_inbound_message(request(7, "echo:hi")),
        ReactorStatus::Continue
    );
    assert_eq!(reactor.in_flight(), 0, "finished on its first poll");
    let Poll::Ready(Some(answer)) = reactor.poll_outbound(&mut cx) else {
        panic!("the answer is queued");
    };
    assert_eq!(answer.message_id(), 7);
    assert_eq!(answer.control_code(), ControlCode::Normal);
    assert_eq!(answer.text, "hi");
    assert!(reactor.poll_outbound(&mut cx).is_pending());
    // The rpc's work was dropped when it finished.
    assert_eq!(reactor.service().drops.dropped(), 1);
}

#[test]
fn a_pending_unary_rpc_stays_in_flight_until_cancelled() {
    let mut reactor = reactor();
    let mut cx = Context::from_waker(Waker::noop());
    reactor.on_inbound_message(request(3, "hang"));
    assert_eq!(reactor.in_flight(), 1);
    assert!(
        reactor.poll_outbound(&mut cx).is_pending(),
        "nothing to send"
    );
    // Its id is taken while it runs.
    reactor.on_inbound_message(request(3, "echo:again"));
    let Poll::Ready(Some(rejected)) = reactor.poll_outbound(&mut cx) else {
        panic!("a duplicate id is answered");
    };
    assert_eq!(
        (rejected.message_id(), rejected.control_code()),
        (3, ControlCode::Cancel)
    );
    // A cancel drops the work and is answered.
    reactor.on_inbound_message(Text::cancelled(3));
    assert_eq!(reactor.in_flight(), 0);
    // The duplicate never reached the service; the hung rpc's work is dropped.
    assert_eq!(reactor.service().drops.dropped(), 1);
    let Poll::Ready(Some(cancelled)) = reactor.poll_outbound(&mut cx) else {
        panic!("the cancel is answered");
    };
    assert_eq!(
        (cancelled.message_id(), cancelled.control_code()),
        (3, ControlCode::Cancel)
    );
}

#[test]
fn a_slot_freed_at_once_serves_the_next_rpcs() {
    let mut reactor = reactor();
    let mut cx = Context::from_waker(Waker::noop());
    for id in 1..=100 {
        reactor.on_inbound_message(request(id, "echo:x"));
        let Poll::Ready(Some(answer)) = reactor.poll_outbound(&mut cx) else {
            panic!("answer {id}");
        };
        assert_eq!(answer.message_id(), id);
    }
    // A stream is still polled from poll_outbound, in turn, then ended.
    reactor.on_inbound_message(request(200, "stream:2"));
    let mut texts = Vec::new();
    while let Poll::Ready(Some(item)) = reactor.poll_outbound(&mut cx) {
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
    assert_eq!(reactor.in_flight(), 0);
}
