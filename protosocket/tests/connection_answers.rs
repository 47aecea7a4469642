//! Room to answer: a reactor that answers every message never finds its answer
//! refused, whatever else waits to be sent, and a reactor whose inbound messages
//! need no answer keeps reading while its own send queue is full.

mod support;

use std::task::Context;

use bytes::Bytes;
use protosocket::{Connection, ConnectionConfig, MessageReactor, ReactorStatus, Replies};
use support::{frames, lock, numbered, u32_codec, Driver, Log, Script, U32Codec, WritePolicy};

/// The telnet case: a greeting (and other tasks' messages) already wait in the
/// channel, and the peer's first write holds far more requests than the queue
/// bound. Every request is answered, after what was queued before it, and the
/// connection stays open.
#[test]
fn answers_never_see_full_whatever_waits_in_the_outbound_channel() {
    const MAX: usize = 8;
    const REQUESTS: u32 = 500;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, stream) = Script::new();
    let (sender, outbound) = config.outbound_channel();
    // The lane is all but full before a byte arrives: a greeting and more.
    let queued: Vec<Vec<u8>> = (0..MAX as u32 - 1).map(|i| numbered(1000 + i, 5)).collect();
    for message in &queued {
        sender
            .send(message.clone().into())
            .expect("room in a fresh lane");
    }
    let reactor = support::Echo::<U32Codec>::new(sender);
    let log = reactor.log();
    let mut connection = Connection::new(stream, u32_codec(), reactor, Some(outbound), config);
    script.set_write_policy(WritePolicy::Chunk(7));
    let requests: Vec<Vec<u8>> = (0..REQUESTS).map(|i| numbered(i, 6)).collect();
    script.push_data(frames(requests.iter().map(Vec::as_slice)));

    let mut driver = Driver::new();
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert!(!connection.is_closed(), "{:?}", connection.close_reason());
    assert_eq!(*lock(&log), requests, "every request reached the reactor");
    let expected = frames(queued.iter().chain(&requests).map(Vec::as_slice));
    assert_eq!(
        script.written(),
        expected,
        "the queued messages first, then every answer in order"
    );
}

/// Reads responses and answers nothing, as an rpc client does.
struct Reader {
    log: Log,
}

impl MessageReactor for Reader {
    type Codec = U32Codec;
    type Inbound = Bytes;
    type Outbound = Bytes;
    type LogicalOutbound = Bytes;

    fn on_inbound_message(&mut self, message: Bytes, _: &mut Replies<Bytes>) -> ReactorStatus {
        lock(&self.log).push(message.to_vec());
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
        message
    }

    fn answers_inbound(&self) -> bool {
        false
    }

    fn poll(&mut self, _: &mut Context<'_>) -> ReactorStatus {
        ReactorStatus::Continue
    }
}

/// The pipelining deadlock: both peers stop reading while their send queue is
/// full. A side whose inbound messages need no answer must keep reading.
#[test]
fn a_reactor_that_answers_nothing_reads_while_its_send_queue_is_full() {
    const MAX: usize = 4;
    let config = ConnectionConfig::default().max_queued_outbound_messages(MAX);
    let (script, stream) = Script::new();
    let (sender, outbound) = config.outbound_channel();
    let log = Log::default();
    let reactor = Reader {
        log: std::sync::Arc::clone(&log),
    };
    let mut connection = Connection::new(stream, u32_codec(), reactor, Some(outbound), config);
    // The peer reads nothing: the send queue fills to its bound, the lane too.
    script.set_write_policy(WritePolicy::Blocked);
    let mut driver = Driver::new();
    for round in 0..2 {
        for i in 0..MAX as u32 {
            sender
                .send(numbered(round * 100 + i, 8).into())
                .expect("room in the lane");
        }
        assert!(driver.run_until_idle(&mut connection).is_pending());
    }
    assert_eq!(connection.stats().send_queue_depth(), MAX as u64);
    assert!(
        sender.send(numbered(999, 8).into()).is_err(),
        "the lane is full too"
    );

    // Responses keep coming, far more than the queue bound: all are read.
    let responses: Vec<Vec<u8>> = (0..100).map(|i| numbered(i, 16)).collect();
    script.push_data(frames(responses.iter().map(Vec::as_slice)));
    assert!(driver.run_until_idle(&mut connection).is_pending());
    assert_eq!(*lock(&log), responses);
    assert!(!connection.is_closed());
    drop(sender);
}
