//! The `connection` target: a `protosocket::Connection` with an echoing reactor,
//! over an in-memory peer whose every read, write and flush the input decides
//! (see [`script`] for the format), polled by hand on this thread.
//!
//! No tokio runtime: without a write stall timeout the connection needs no timer,
//! and without a runtime write coalescing is off (it is also configured
//! `Never`).
//!
//! While it runs:
//! - it never panics, and finishes within `2 * input length + 256` polls;
//! - a `Pending` poll has arranged a wake-up (the peer wakes it whenever it says
//!   `Pending`, so a poll that left no wake would never run again);
//! - once the peer has played every step (reads are EOF, writes and flushes
//!   complete) it finishes within a few polls more than the messages it still
//!   has to hand over;
//! - a message reaches the reactor only with room to answer it;
//! - the receive buffer's charge on the `InboundMemory` budget stays within the
//!   limit plus one `max_buffer_length`, and within twice `max_buffer_length`
//!   (a growth is checked, then the buffer may double instead).
//!
//! When it has finished:
//! - it has a close reason, the reactor heard it once, and the budget is back to
//!   0 (and stays there once the connection is dropped);
//! - the reactor got the peer's frames in order, a prefix of what a whole-buffer
//!   decode of the bytes sent before EOF finds, and all of them when the
//!   connection closed for EOF, an invalid frame or an oversized one;
//! - the close reason is one the script allows (EOF after whole or cut-off
//!   frames, the decoder's refusal, an oversized frame, the budget, a failed
//!   read, the owner's close, the sender dropped, the reactor's disconnect right
//!   after its last message);
//! - the peer got the echoes in order: exactly all of them, flushed and then shut
//!   down, when the close was graceful (EOF, the owner, the sender, the
//!   reactor); a prefix of them when it was an error;
//! - no read after EOF, no empty write, no write after shutdown, and the
//!   connection's counters match what the peer saw.

pub mod echo;
pub mod peer;
pub mod script;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use protosocket::{
    CloseReason, Connection, ConnectionConfig, Decoder, Encoder, InboundMemory,
    LengthDelimitedCodec, LinesCodec, PooledEncoder, WriteCoalescing,
};
use protosocket_prost::{ProstCodec, ProstDecoder};

use crate::messages::Probe;
use echo::{check_memory, reference, Echo, Log, Tail};
use peer::{Peer, PeerStream};
use script::{CodecChoice, Script};

/// Polls allowed after the peer has played every step, beyond one per message
/// still to hand over: reading EOF, draining, flushing and shutting down.
const FINISH_POLLS: usize = 8;

/// Runs the target on one input.
pub fn run(input: &[u8]) {
    let script = Script::parse(input);
    let max_buffer_length = script.max_buffer_length;
    match script.codec {
        CodecChoice::ProstBounded => {
            drive::<ProstCodec<Probe, Probe>, _>(&script, input.len(), || {
                let decoder = ProstDecoder::with_max_frame_length(max_buffer_length);
                (PooledEncoder::default(), decoder)
            })
        }
        CodecChoice::ProstUnbounded => drive(
            &script,
            input.len(),
            protosocket_prost::codec::<Probe, Probe>,
        ),
        CodecChoice::LengthDelimited => drive(&script, input.len(), LengthDelimitedCodec::new),
        CodecChoice::Lines => drive(&script, input.len(), || {
            LinesCodec::new().max_line_length(usize::MAX)
        }),
    }
}

/// Counts wake-ups.
#[derive(Debug, Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Wakes {
    fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

fn drive<C, F>(script: &Script, input_len: usize, make_codec: F)
where
    F: Fn() -> C,
    C: Encoder<Message = <C as Decoder>::Message> + Decoder,
    <C as Decoder>::Message: Clone,
{
    let max_buffer_length = script.max_buffer_length;
    let memory = InboundMemory::new(script.inbound_memory_limit);
    // Growth is checked against the budget before it happens, but a `Vec` may
    // double its capacity instead of growing by what was asked: past the limit by
    // less than one buffer, and never over twice the largest buffer.
    let memory_bound = (memory.limit() + max_buffer_length).min(2 * max_buffer_length);
    let config = ConnectionConfig::default()
        .max_buffer_length(max_buffer_length)
        .buffer_allocation_increment(script.buffer_allocation_increment)
        .max_queued_outbound_messages(script.max_queued_outbound_messages)
        .write_coalescing(WriteCoalescing::Never)
        .inbound_memory(Some(memory.clone()));
    let (sender, receiver) = if script.outbound_channel {
        let (sender, receiver) = config.outbound_channel();
        (Some(sender), Some(receiver))
    } else {
        (None, None)
    };
    let expected = reference(make_codec(), &script.sent_before_end(), max_buffer_length);

    let peer = Rc::new(RefCell::new(Peer::new(script, sender)));
    let log = Rc::new(RefCell::new(Log::new(make_codec())));
    let reactor = Echo::new(
        Rc::clone(&log),
        script.disconnect_after,
        script.max_queued_outbound_messages,
        memory.clone(),
        memory_bound,
    );
    let mut connection = Connection::new(
        PeerStream::new(Rc::clone(&peer)),
        make_codec(),
        reactor,
        receiver,
        config,
    );

    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let max_polls = 2 * input_len + 256;
    let mut polls = 0;
    let mut close_called = false;
    // Once the peer has played everything: the poll count then, and the messages
    // still to hand over.
    let mut played_all: Option<(usize, usize)> = None;
    loop {
        assert!(
            polls < max_polls,
            "the connection is still running after {polls} polls"
        );
        polls += 1;
        let woken = wakes.count();
        let finished = Pin::new(&mut connection).poll(&mut cx).is_ready();
        check_memory(&memory, memory_bound);
        if finished {
            break;
        }
        if peer.borrow().close_requested && !close_called {
            // The owner's call is itself a reason to poll again.
            close_called = true;
            connection.close();
            continue;
        }
        assert!(
            wakes.count() > woken,
            "the connection returned Pending with nothing left to wake it: {connection:?}"
        );
        if peer.borrow().played_all() {
            let (since, left) = *played_all.get_or_insert_with(|| {
                let received = log.borrow().received.len();
                (polls, expected.frames.len().saturating_sub(received))
            });
            assert!(
                polls - since <= left + FINISH_POLLS,
                "the peer is done, yet the connection runs {} polls on for {left} messages",
                polls - since
            );
        }
    }

    let reason = connection
        .close_reason()
        .cloned()
        .expect("a finished connection has a close reason");
    assert!(connection.is_closed(), "finished, yet not closed");
    assert_eq!(
        memory.in_use(),
        0,
        "a finished connection still holds inbound memory"
    );
    let stats = connection.stats();
    {
        let log = log.borrow();
        let peer = peer.borrow();
        assert_eq!(log.closed, [reason.to_string()], "on_closed calls");
        assert!(
            log.read_closed <= 1,
            "on_read_closed called {} times",
            log.read_closed
        );
        assert_eq!(peer.reads_after_eof, 0, "reads after EOF");
        assert_eq!(peer.empty_writes, 0, "writes of no bytes");
        assert_eq!(peer.writes_after_shutdown, 0, "writes after shutdown");

        let received = &log.received;
        assert!(
            received.len() <= expected.frames.len()
                && received[..] == expected.frames[..received.len()],
            "the reactor got {} messages that are not the first of the {} sent",
            received.len(),
            expected.frames.len()
        );
        let got_all = received.len() == expected.frames.len();
        let graceful = match &reason {
            CloseReason::PeerClosed => {
                assert!(peer.eof_returned, "closed for EOF without one");
                assert!(
                    matches!(expected.tail, Tail::Clean | Tail::Partial),
                    "closed for EOF after a {:?} tail",
                    expected.tail
                );
                assert!(got_all, "closed for EOF with messages not handed over");
                true
            }
            CloseReason::Requested => {
                assert!(
                    peer.close_requested,
                    "closed as requested without a request"
                );
                true
            }
            CloseReason::Reactor => {
                assert_eq!(
                    script.disconnect_after,
                    Some(received.len()),
                    "the reactor disconnected after another message"
                );
                true
            }
            CloseReason::SendersGone => {
                assert!(peer.sender_dropped, "closed for senders gone with a sender");
                true
            }
            CloseReason::InvalidFrame(_) => {
                assert_eq!(expected.tail, Tail::Invalid, "closed for an invalid frame");
                assert!(
                    got_all,
                    "an invalid frame closed with messages not handed over"
                );
                false
            }
            CloseReason::FrameTooLarge { len, max } => {
                assert_eq!(expected.tail, Tail::TooLarge, "closed for a large frame");
                assert!(
                    got_all,
                    "a large frame closed with messages not handed over"
                );
                assert_eq!(*max, max_buffer_length, "FrameTooLarge's limit");
                assert!(len > max, "a {len}-byte frame is too large for {max}");
                false
            }
            CloseReason::InboundMemoryExhausted { limit } => {
                assert_eq!(*limit, memory.limit(), "InboundMemoryExhausted's limit");
                false
            }
            CloseReason::Io(error) => {
                assert_eq!(Some(error.kind()), peer.read_error, "closed for {error}");
                false
            }
            other => panic!("the connection closed for {other}"),
        };

        let echoes = received.concat();
        if graceful {
            assert!(
                peer.written == echoes,
                "closed gracefully ({reason}) having written {} of {} echoed bytes",
                peer.written.len(),
                echoes.len()
            );
            assert!(
                peer.shut_down,
                "closed gracefully ({reason}) without a shutdown"
            );
            assert_eq!(
                peer.flushed,
                peer.written.len(),
                "closed gracefully ({reason}) without a flush"
            );
        } else {
            assert!(
                echoes.starts_with(&peer.written),
                "the peer got {} bytes that are not the echoes",
                peer.written.len()
            );
        }
        assert!(log.answered <= received.len(), "more answers than messages");
        assert_eq!(
            stats.messages_received(),
            received.len() as u64,
            "messages_received"
        );
        assert_eq!(
            stats.bytes_received(),
            peer.bytes_read as u64,
            "bytes_received"
        );
        assert_eq!(stats.bytes_sent(), peer.written.len() as u64, "bytes_sent");
    }
    drop(connection);
    assert_eq!(
        memory.in_use(),
        0,
        "a dropped connection holds inbound memory"
    );
}
