//! The receive side of a connection: the buffer the stream is read into, how it
//! is sized and charged to the shared [`InboundMemory`], and decoding out of it.
//!
//! How far the receive side has got is two small states:
//!
//! | `ReadState` | `Backlog` | meaning |
//! |---|---|---|
//! | `Reading` | `Clear` | reads the stream; everything complete was handed over |
//! | `Reading` | `Held` | complete messages may wait for room to answer them, or for the reactor to take inbound messages again; they are decoded before the stream is read again |
//! | `Eof` | `Held` | as above, and the peer closed its side behind them; the reactor hears of it once they are handed over |
//! | `Eof` | `Clear` | within one receive step only: EOF is handled at once |
//! | `Done` | any | not reading: EOF was handled, or the connection is draining |

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::AsyncRead;

use crate::close::CloseReason;
use crate::codec::{DecodeError, Decoder, InvalidFrame};
use crate::config::ConnectionConfig;
use crate::memory::InboundMemory;
use crate::reactor::ReactorStatus;
use crate::stats::Tally;

/// The smallest read: what a connection with light traffic allocates per read burst.
const MIN_READ: usize = 4 * 1024;

/// Why a burst of reads stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadStop {
    /// The stream has nothing more for now; it wakes the task when it has.
    WouldBlock,
    /// The peer closed its side. Recorded at once: the stream may not say so again.
    Eof,
    /// The buffer holds `max_buffer_length` bytes.
    Full,
    /// The poll's read budget is spent; the stream may hold more, and will not
    /// wake the task for it.
    BudgetSpent,
}

/// How far the receive side has got with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadState {
    Reading,
    /// EOF was read; messages buffered before it may still wait for room. The
    /// reactor hears of it once they are all decoded.
    Eof,
    /// Not reading any more: EOF was handled, or the connection is draining.
    Done,
}

/// Whether the buffer may hold complete messages not handed over yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backlog {
    /// Whatever is buffered is part of one frame.
    Clear,
    /// Decoding stopped at its limit, or because the reactor holds inbound
    /// messages: complete messages may wait for the send queue to have room for
    /// their answers, or for the reactor.
    Held,
}

/// What the reactor made of one message handed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Go on decoding.
    Continue,
    /// Decode nothing more until the reactor takes inbound messages again
    /// ([`MessageReactor::poll_inbound_ready`](crate::MessageReactor::poll_inbound_ready)).
    Hold,
    /// The reactor asked to disconnect.
    Disconnect,
}

/// What one [`decode`](ReceiveBuffer::decode) handed over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoded {
    pub(crate) messages: usize,
    /// `Disconnect` when the reactor asked for it; decoding stopped there.
    pub(crate) status: ReactorStatus,
}

/// How many messages may be decoded now: as many as can be answered without more
/// than `max_queued` messages waiting to be sent, `queued` already counted, unless
/// inbound messages need no answer from this side (`answers` is false).
#[inline]
pub(crate) fn decode_room(answers: bool, max_queued: usize, queued: usize) -> usize {
    if answers {
        max_queued.saturating_sub(queued)
    } else {
        usize::MAX
    }
}

/// The bytes read from the stream and not yet decoded, with the state of reading.
#[derive(Debug)]
pub(crate) struct ReceiveBuffer {
    buffer: BytesMut,
    /// The largest frame, prefix included; the buffer never holds more.
    max: usize,
    /// `buffer_allocation_increment`: the most one growth adds.
    step: usize,
    memory: Option<InboundMemory>,
    /// Buffer bytes charged to `memory`.
    charged: usize,
    /// The length of the partial frame at the front of `buffer`, when known.
    frame_len: usize,
    /// Bytes the last burst of reads brought (up to the stream blocking); sizes
    /// the next read.
    read_hint: usize,
    state: ReadState,
    backlog: Backlog,
}

impl ReceiveBuffer {
    pub(crate) fn new(config: &ConnectionConfig) -> Self {
        Self {
            buffer: BytesMut::new(),
            max: config.max_buffer_length,
            step: config.buffer_allocation_increment,
            memory: config.inbound_memory.clone(),
            charged: 0,
            frame_len: 0,
            read_hint: 0,
            state: ReadState::Reading,
            backlog: Backlog::Clear,
        }
    }

    /// Bytes buffered.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buffer.len()
    }

    #[inline]
    pub(crate) fn state(&self) -> ReadState {
        self.state
    }

    /// Whether the stream is still read (or EOF still waits to be handled).
    #[inline]
    pub(crate) fn is_reading(&self) -> bool {
        self.state != ReadState::Done
    }

    /// Whether complete messages may wait in the buffer for room.
    #[inline]
    pub(crate) fn is_held(&self) -> bool {
        self.backlog == Backlog::Held
    }

    /// Stops reading: the connection drains.
    pub(crate) fn stop(&mut self) {
        self.state = ReadState::Done;
    }

    /// The peer's EOF is handled, every message before it handed over.
    pub(crate) fn end_input(&mut self) {
        self.state = ReadState::Done;
        if !self.buffer.is_empty() {
            tracing::debug!(
                bytes = self.buffer.len(),
                "the peer closed its side in the middle of a frame"
            );
        }
    }

    /// Reads `stream` into the buffer until it would block, reports EOF, fills the
    /// buffer or spends `budget`. `burst` counts the bytes this receive step read
    /// (across calls), which size the reads.
    ///
    /// # Errors
    ///
    /// A read error, or a growth the shared inbound budget cannot afford.
    #[inline]
    pub(crate) fn poll_read<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
        budget: &mut usize,
        burst: &mut usize,
        tally: &mut Tally,
    ) -> Result<ReadStop, CloseReason> {
        loop {
            if *budget == 0 {
                return Ok(ReadStop::BudgetSpent);
            }
            if self.buffer.len() >= self.max {
                return Ok(ReadStop::Full);
            }
            self.reserve()?;
            // The allocator may round capacity up: never read past the limit, or a
            // frame over it could arrive whole and be decoded.
            let limit = self.max - self.buffer.len();
            let mut space = (&mut self.buffer).limit(limit);
            match tokio_util::io::poll_read_buf(Pin::new(&mut *stream), cx, &mut space) {
                Poll::Ready(Ok(0)) => {
                    self.state = ReadState::Eof;
                    return Ok(ReadStop::Eof);
                }
                Poll::Ready(Ok(n)) => {
                    tally.bytes_received += n as u64;
                    *budget = budget.saturating_sub(n);
                    *burst += n;
                    self.read_hint = self.read_hint.max(*burst);
                }
                Poll::Ready(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(error)) => return Err(error.into()),
                Poll::Pending => return Ok(ReadStop::WouldBlock),
            }
        }
    }

    /// Decodes up to `limit` messages and hands each to `deliver`, stopping early
    /// when it returns `Disconnect` or `Hold`. Stopping at the limit (or on
    /// `Hold`) with bytes left marks them held back.
    ///
    /// # Errors
    ///
    /// The decoder's: a frame announced over `max_buffer_length`, bytes that are
    /// not a message, a skip of zero bytes.
    #[inline]
    pub(crate) fn decode<D: Decoder>(
        &mut self,
        decoder: &mut D,
        limit: usize,
        tally: &mut Tally,
        mut deliver: impl FnMut(D::Message) -> Delivery,
    ) -> Result<Decoded, CloseReason> {
        let mut messages = 0;
        self.backlog = Backlog::Clear;
        while !self.buffer.is_empty() {
            if messages == limit {
                self.backlog = Backlog::Held;
                break;
            }
            match decoder.decode_buffer(&mut self.buffer) {
                Ok(message) => {
                    self.frame_len = 0;
                    messages += 1;
                    tally.messages_received += 1;
                    match deliver(message) {
                        Delivery::Continue => {}
                        Delivery::Hold => {
                            // What is left waits, as for want of room.
                            self.backlog = Backlog::Held;
                            break;
                        }
                        Delivery::Disconnect => {
                            return Ok(Decoded {
                                messages,
                                status: ReactorStatus::Disconnect,
                            })
                        }
                    }
                }
                Err(DecodeError::Incomplete { frame_len }) => {
                    self.partial_frame(frame_len)?;
                    break;
                }
                Err(DecodeError::Skip(0)) => {
                    return Err(CloseReason::InvalidFrame(InvalidFrame::new(
                        "the decoder asked to skip 0 bytes",
                    )));
                }
                Err(DecodeError::Skip(n)) => self.buffer.advance(n.min(self.buffer.len())),
                Err(DecodeError::Invalid(invalid)) => {
                    return Err(CloseReason::InvalidFrame(invalid))
                }
            }
        }
        Ok(Decoded {
            messages,
            status: ReactorStatus::Continue,
        })
    }

    /// The buffer starts with part of a frame, `frame_len` long if known.
    #[inline]
    fn partial_frame(&mut self, frame_len: Option<usize>) -> Result<(), CloseReason> {
        match frame_len {
            Some(len) if len > self.max => Err(CloseReason::FrameTooLarge { len, max: self.max }),
            Some(len) => {
                self.frame_len = len;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The buffer is full and nothing in it decodes: the frame at its front can
    /// never fit. `None` when a decode made room after all.
    pub(crate) fn frame_too_large(&self) -> Option<CloseReason> {
        (self.buffer.len() >= self.max).then(|| CloseReason::FrameTooLarge {
            len: self.frame_len.max(self.buffer.len() + 1),
            max: self.max,
        })
    }

    /// The stream blocked after `burst` bytes: they size the next read. Gives back
    /// a buffer that grew for a burst once it is empty; one of up to twice the
    /// smallest read is kept, so a connection trading small messages does not
    /// allocate per request.
    #[inline]
    pub(crate) fn idle(&mut self, burst: usize) {
        self.read_hint = burst;
        if self.buffer.is_empty() && self.buffer.capacity() > 2 * MIN_READ {
            self.buffer = BytesMut::new();
            self.sync_charge();
        }
    }

    /// Frees the buffer and gives its charge back: the connection has ended.
    pub(crate) fn release(&mut self) {
        if let Some(memory) = &self.memory {
            memory.release(self.charged);
        }
        self.charged = 0;
        self.buffer = BytesMut::new();
    }

    /// Makes room for the next read. Toward a frame whose length is known the
    /// buffer grows with what arrives (at most doubling per step), so a prefix that
    /// announces a large frame reserves nothing until its bytes come.
    #[inline]
    fn reserve(&mut self) -> Result<(), CloseReason> {
        let len = self.buffer.len();
        let spare = self.buffer.capacity() - len;
        let room = self.max - len;
        if self.frame_len > len {
            let needed = (self.frame_len - len).min(room).min(len.max(self.step));
            if spare < needed {
                self.grow_exactly(needed)?;
            }
            return Ok(());
        }
        // Else room for twice the last burst (so a steady stream of batches takes
        // one read each), within the growth step. Topping up only below half keeps
        // a small buffer from doubling just because a few bytes sit in it.
        // An increment below the smallest read wins: it is the configured bound.
        let target = (2 * self.read_hint).max(MIN_READ).min(self.step).min(room);
        if spare < target / 2 {
            self.grow(target)?;
        }
        Ok(())
    }

    /// Reserves `additional` bytes past what is buffered (a read buffer of at most
    /// `buffer_allocation_increment`), charging the shared inbound budget first: a
    /// growth it cannot afford closes this connection instead of allocating.
    /// `reserve` may round the capacity up past what was charged (it can double a
    /// buffer); the charge then follows the capacity, which can take the budget
    /// past its limit by that rounding, one read buffer per connection at most.
    fn grow(&mut self, additional: usize) -> Result<(), CloseReason> {
        if let Some(memory) = &self.memory {
            let after = self.buffer.len() + additional;
            if after > self.charged {
                if !memory.try_charge(after - self.charged) {
                    return Err(CloseReason::InboundMemoryExhausted {
                        limit: memory.limit(),
                    });
                }
                self.charged = after;
            }
        }
        self.buffer.reserve(additional);
        self.sync_charge();
        Ok(())
    }

    /// Grows the buffer toward a frame to exactly `len + additional` bytes: a new
    /// allocation and a copy, so the capacity charged is the capacity held
    /// (`reserve` may double a buffer, which the budget would see only after the
    /// allocation). A frame being assembled grows at most by doubling, so the
    /// copies add up to less than the frame.
    fn grow_exactly(&mut self, additional: usize) -> Result<(), CloseReason> {
        let capacity = self.buffer.len() + additional;
        if let Some(memory) = &self.memory {
            if capacity > self.charged && !memory.try_charge(capacity - self.charged) {
                return Err(CloseReason::InboundMemoryExhausted {
                    limit: memory.limit(),
                });
            }
            self.charged = self.charged.max(capacity);
        }
        let mut grown = BytesMut::with_capacity(capacity);
        grown.extend_from_slice(&self.buffer);
        self.buffer = grown;
        self.sync_charge();
        Ok(())
    }

    /// Makes the charge match the buffer's capacity.
    #[inline]
    fn sync_charge(&mut self) {
        let Some(memory) = &self.memory else {
            return;
        };
        let capacity = self.buffer.capacity();
        if capacity > self.charged {
            memory.force_charge(capacity - self.charged);
        } else {
            memory.release(self.charged - capacity);
        }
        self.charged = capacity;
    }
}
