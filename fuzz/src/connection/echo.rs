//! The reactor under test, which echoes every message and logs what it saw, and
//! the reference reading of what the peer sent.

use std::cell::RefCell;
use std::rc::Rc;

use protosocket::{
    CloseReason, DecodeError, Decoder, Encoder, InboundMemory, MessageReactor, ReactorStatus,
    Replies,
};

use crate::framing::append;

/// What the reactor saw, shared with the driver.
#[derive(Debug)]
pub struct Log<C> {
    /// Encodes messages for the log, so it keeps no `bytes::Bytes` that would pin
    /// the connection's receive buffer.
    codec: C,
    /// Every message handed to the reactor, encoded, in order.
    pub received: Vec<Vec<u8>>,
    /// Answers the connection took from the reactor to encode.
    pub answered: usize,
    /// Calls of `on_read_closed`.
    pub read_closed: usize,
    /// Every close reason `on_closed` was given.
    pub closed: Vec<String>,
}

impl<C> Log<C> {
    /// An empty log that encodes with `codec`.
    pub fn new(codec: C) -> Self {
        Self {
            codec,
            received: Vec::new(),
            answered: 0,
            read_closed: 0,
            closed: Vec::new(),
        }
    }
}

/// Answers every message with itself, and disconnects after answering
/// `disconnect_after` of them.
#[derive(Debug)]
pub struct Echo<C> {
    log: Rc<RefCell<Log<C>>>,
    disconnect_after: Option<usize>,
    max_queued: usize,
    memory: InboundMemory,
    memory_bound: usize,
}

impl<C> Echo<C> {
    /// An echo logging to `log`, on a connection configured with `max_queued`
    /// outbound messages whose receive buffer must keep `memory` within
    /// `memory_bound`.
    pub fn new(
        log: Rc<RefCell<Log<C>>>,
        disconnect_after: Option<usize>,
        max_queued: usize,
        memory: InboundMemory,
        memory_bound: usize,
    ) -> Self {
        Self {
            log,
            disconnect_after,
            max_queued,
            memory,
            memory_bound,
        }
    }
}

impl<C> MessageReactor for Echo<C>
where
    C: Encoder<Message = <C as Decoder>::Message> + Decoder,
    <C as Decoder>::Message: Clone,
{
    type Codec = C;
    type Inbound = <C as Decoder>::Message;
    type Outbound = <C as Decoder>::Message;
    type LogicalOutbound = <C as Decoder>::Message;

    fn on_inbound_message(
        &mut self,
        message: Self::Inbound,
        replies: &mut Replies<Self::LogicalOutbound>,
    ) -> ReactorStatus {
        // The connection decodes a message only with room to answer it.
        assert!(
            replies.len() < self.max_queued,
            "a message arrived with {} answers waiting, {} allowed",
            replies.len(),
            self.max_queued
        );
        check_memory(&self.memory, self.memory_bound);
        let mut log = self.log.borrow_mut();
        let mut encoded = Vec::new();
        append(&mut log.codec, message.clone(), &mut encoded);
        log.received.push(encoded);
        replies.push(message);
        if Some(log.received.len()) == self.disconnect_after {
            ReactorStatus::Disconnect
        } else {
            ReactorStatus::Continue
        }
    }

    fn on_outbound_message(&mut self, message: Self::LogicalOutbound) -> Self::Outbound {
        let mut log = self.log.borrow_mut();
        log.answered += 1;
        assert!(
            log.answered <= log.received.len(),
            "more answers than messages"
        );
        message
    }

    fn on_read_closed(&mut self) -> ReactorStatus {
        self.log.borrow_mut().read_closed += 1;
        ReactorStatus::Disconnect
    }

    fn on_closed(&mut self, reason: &CloseReason) {
        self.log.borrow_mut().closed.push(reason.to_string());
    }
}

/// The receive buffer's charge stays within `bound`.
pub fn check_memory(memory: &InboundMemory, bound: usize) {
    assert!(
        memory.in_use() <= bound,
        "{} bytes of inbound memory in use, over {bound} (limit {})",
        memory.in_use(),
        memory.limit()
    );
}

/// How the bytes the peer sent end, after the last whole frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Right after a frame.
    Clean,
    /// In a frame that would fit the receive buffer.
    Partial,
    /// In bytes the decoder refuses.
    Invalid,
    /// In a frame longer than `max_buffer_length`.
    TooLarge,
}

/// What a connection should make of the bytes the peer sent.
#[derive(Debug)]
pub struct Reference {
    /// The frames, decoded and encoded again: what the reactor should log.
    pub frames: Vec<Vec<u8>>,
    /// What follows them.
    pub tail: Tail,
}

/// Decodes `sent` whole, the way a connection with a `max_buffer_length` receive
/// buffer can.
pub fn reference<C: Encoder<Message = <C as Decoder>::Message> + Decoder>(
    mut codec: C,
    sent: &[u8],
    max_buffer_length: usize,
) -> Reference {
    let mut frames = Vec::new();
    let mut offset = 0;
    let tail = loop {
        let rest = &sent[offset..];
        if rest.is_empty() {
            break Tail::Clean;
        }
        // The connection's receive buffer holds at most `max_buffer_length` bytes, so
        // the decoder never sees past them: a line (or frame) that does not end
        // within them is too large, whatever lies beyond.
        let window = &rest[..rest.len().min(max_buffer_length)];
        match codec.decode(window) {
            Ok((used, _)) if used > max_buffer_length => break Tail::TooLarge,
            Ok((used, message)) => {
                let mut encoded = Vec::new();
                append(&mut codec, message, &mut encoded);
                frames.push(encoded);
                offset += used;
            }
            Err(DecodeError::Incomplete {
                frame_len: Some(len),
            }) if len > max_buffer_length => break Tail::TooLarge,
            // A full buffer that holds no frame can never become one.
            Err(DecodeError::Incomplete { .. }) if rest.len() >= max_buffer_length => {
                break Tail::TooLarge
            }
            Err(DecodeError::Incomplete { .. }) => break Tail::Partial,
            Err(DecodeError::Invalid(_)) => break Tail::Invalid,
            Err(DecodeError::Skip(n)) => panic!("the codec asked to skip {n} bytes"),
        }
    };
    Reference { frames, tail }
}
