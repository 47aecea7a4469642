//! Test reactors, generic over any codec whose messages are bytes.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Context;

use protosocket::{Decoder, Encoder, MessageReactor, ReactorStatus, Replies};

/// A codec whose messages, the same both ways, are bytes (`Vec<u8>`,
/// `bytes::Bytes`, `String`): what the test reactors take.
pub(crate) trait BytesCodec:
    Encoder<Message = <Self as BytesCodec>::Carried> + Decoder<Message = <Self as BytesCodec>::Carried>
{
    /// What the codec carries.
    type Carried: AsRef<[u8]> + Clone;
}

impl<C, M> BytesCodec for C
where
    C: Encoder<Message = M> + Decoder<Message = M>,
    M: AsRef<[u8]> + Clone,
{
    type Carried = M;
}

/// Every inbound message's bytes, in order, shared with the test.
pub(crate) type Log = Arc<Mutex<Vec<Vec<u8>>>>;

/// Echoes every message back through its replies.
///
/// The message `quit` is not echoed: it disconnects. It keeps the connection's
/// outbound sender, so the connection stays open while the test sends through
/// clones of it too.
pub(crate) struct Echo<C: BytesCodec> {
    _outbound: spillway::Sender<C::Carried>,
    log: Log,
    polls: Arc<AtomicUsize>,
    codec: PhantomData<fn() -> C>,
}

impl<C: BytesCodec> Echo<C> {
    pub(crate) fn new(outbound: spillway::Sender<C::Carried>) -> Self {
        Self {
            _outbound: outbound,
            log: Log::default(),
            polls: Arc::default(),
            codec: PhantomData,
        }
    }

    /// Inbound messages, in the order the reactor saw them.
    pub(crate) fn log(&self) -> Log {
        Arc::clone(&self.log)
    }

    /// How many times the connection polled this reactor (once per receive-send
    /// round while open).
    pub(crate) fn polls(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.polls)
    }
}

impl<C: BytesCodec> MessageReactor for Echo<C> {
    type Codec = C;
    type Inbound = C::Carried;
    type Outbound = C::Carried;
    type LogicalOutbound = C::Carried;

    fn on_inbound_message(
        &mut self,
        message: C::Carried,
        replies: &mut Replies<C::Carried>,
    ) -> ReactorStatus {
        lock(&self.log).push(message.as_ref().to_vec());
        if message.as_ref() == b"quit" {
            return ReactorStatus::Disconnect;
        }
        replies.push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: C::Carried) -> C::Carried {
        message
    }

    fn poll(&mut self, _cx: &mut Context<'_>) -> ReactorStatus {
        self.polls.fetch_add(1, Ordering::Relaxed);
        ReactorStatus::Continue
    }
}

/// Records inbound messages and answers nothing; what goes out comes from senders
/// the test holds.
pub(crate) struct Sink<C> {
    log: Log,
    codec: PhantomData<fn() -> C>,
}

impl<C> Sink<C> {
    pub(crate) fn new() -> Self {
        Self {
            log: Log::default(),
            codec: PhantomData,
        }
    }

    pub(crate) fn log(&self) -> Log {
        Arc::clone(&self.log)
    }
}

impl<C: BytesCodec> MessageReactor for Sink<C> {
    type Codec = C;
    type Inbound = C::Carried;
    type Outbound = C::Carried;
    type LogicalOutbound = C::Carried;

    fn on_inbound_message(
        &mut self,
        message: C::Carried,
        _replies: &mut Replies<C::Carried>,
    ) -> ReactorStatus {
        lock(&self.log).push(message.as_ref().to_vec());
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: C::Carried) -> C::Carried {
        message
    }
}

/// Locks a test mutex; a poisoned one means another assertion already failed.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
