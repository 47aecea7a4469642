//! Test reactors, generic over any codec of `Vec<u8>` messages.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Context;

use protosocket::{Decoder, Encoder, MessageReactor, ReactorStatus, Replies};

/// Every inbound message, in order, shared with the test.
pub(crate) type Log = Arc<Mutex<Vec<Vec<u8>>>>;

/// Echoes every message back through its replies.
///
/// The message `quit` is not echoed: it disconnects. It keeps the connection's
/// outbound sender, so the connection stays open while the test sends through
/// clones of it too.
pub(crate) struct Echo<C> {
    _outbound: spillway::Sender<Vec<u8>>,
    log: Log,
    polls: Arc<AtomicUsize>,
    codec: PhantomData<fn() -> C>,
}

impl<C> Echo<C> {
    pub(crate) fn new(outbound: spillway::Sender<Vec<u8>>) -> Self {
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

impl<C> MessageReactor for Echo<C>
where
    C: Encoder<Message = Vec<u8>> + Decoder<Message = Vec<u8>>,
{
    type Codec = C;
    type Inbound = Vec<u8>;
    type Outbound = Vec<u8>;
    type LogicalOutbound = Vec<u8>;

    fn on_inbound_message(
        &mut self,
        message: Vec<u8>,
        replies: &mut Replies<Vec<u8>>,
    ) -> ReactorStatus {
        lock(&self.log).push(message.clone());
        if message == b"quit" {
            return ReactorStatus::Disconnect;
        }
        replies.push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Vec<u8>) -> Vec<u8> {
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

impl<C> MessageReactor for Sink<C>
where
    C: Encoder<Message = Vec<u8>> + Decoder<Message = Vec<u8>>,
{
    type Codec = C;
    type Inbound = Vec<u8>;
    type Outbound = Vec<u8>;
    type LogicalOutbound = Vec<u8>;

    fn on_inbound_message(
        &mut self,
        message: Vec<u8>,
        _replies: &mut Replies<Vec<u8>>,
    ) -> ReactorStatus {
        lock(&self.log).push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Vec<u8>) -> Vec<u8> {
        message
    }
}

/// Locks a test mutex; a poisoned one means another assertion already failed.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
