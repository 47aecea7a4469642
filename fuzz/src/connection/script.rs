//! The `connection` target's input format: a connection's settings, then what its
//! peer does, one step at a time.
//!
//! Four header bytes (missing ones read as 0):
//!
//! | byte | bits | what |
//! |---|---|---|
//! | 0 | 0-1 | codec: 0 prost with the maximum frame at `max_buffer_length`, 1 prost with no maximum of its own, 2 protosocket's `LengthDelimitedCodec`, 3 protosocket's `LinesCodec` with no line limit of its own |
//! | 0 | 2 | whether the connection has an outbound channel (its sender held by the peer) |
//! | 0 | 3-7 | the reactor disconnects after answering this many messages (0: never) |
//! | 1 | all | `max_buffer_length`: 4 KiB + (byte % 61) KiB, so 4 to 64 KiB |
//! | 2 | 0-2 | `max_queued_outbound_messages`: 1 to 8 |
//! | 2 | 3-4 | `buffer_allocation_increment`: 4, 16, 64 or 1 KiB (the setter's minimum, below the connection's 4 KiB smallest read) |
//! | 3 | all | the `InboundMemory` limit: (byte + 1) * 512 bytes, 512 B to 128 KiB |
//!
//! Then steps, each an opcode byte and its operands:
//!
//! | opcode | step |
//! |---|---|
//! | `0x00..=0xEF` | a read returns the next `opcode + 1` input bytes (1 to 240) |
//! | `0xF0` | a read returns the number of bytes in the next two (big-endian), then those bytes |
//! | `0xF1` | a read is `Pending` (and wakes the connection: readiness comes later) |
//! | `0xF2` | a read returns EOF |
//! | `0xF3` | a read fails with `ConnectionReset` |
//! | `0xF4` | a read fails with `Interrupted` (to be retried) |
//! | `0xF5` | a write is `Pending` (and wakes the connection) |
//! | `0xF6` | a write takes at most `next byte + 1` bytes |
//! | `0xF7` | a write fails with `Interrupted` (to be retried) |
//! | `0xF8` | a flush or shutdown is `Pending` (and wakes the connection) |
//! | `0xF9` | when the reads get here, the owner asks for a graceful close |
//! | `0xFA` | when the reads get here, the peer drops the outbound sender |
//! | `0xFB..=0xFF` | a write takes at most `opcode - 0xFA` bytes (1 to 5) |
//!
//! Read steps play in order as the connection reads; write steps as it writes
//! (flush steps as it flushes), each at its own pace. Once the read steps run out
//! every read is EOF; once the write steps do, every write takes all it is offered.

use std::io;

/// The header's length.
pub const HEADER_LEN: usize = 4;

/// The connection's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecChoice {
    /// prost, its maximum frame equal to `max_buffer_length`: an oversized frame
    /// is the decoder's `Invalid`.
    ProstBounded,
    /// prost with no maximum of its own (its default): an oversized frame is the
    /// connection's `FrameTooLarge`, from the announced length.
    ProstUnbounded,
    /// protosocket's `LengthDelimitedCodec`: a big-endian u32 length, then the
    /// body, split off the receive buffer as `Bytes`; no maximum of its own.
    LengthDelimited,
    /// protosocket's `LinesCodec` with no line limit: `String` messages decoded by
    /// the `Decoder` trait's default `decode_buffer`, and a frame of unknown
    /// length, so a line over the buffer is `FrameTooLarge` once the buffer is full.
    Lines,
}

/// One read of the stream, or something that happens when the reads reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// These bytes, in one read if the connection's buffer has room.
    Data(Vec<u8>),
    /// `Pending`.
    Pending,
    /// End of stream.
    Eof,
    /// A failed read.
    Error(io::ErrorKind),
    /// The owner asks for a graceful close.
    Close,
    /// The peer drops the outbound sender.
    DropSender,
}

/// One write to the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `Pending`.
    Pending,
    /// Takes at most this many bytes.
    Short(usize),
    /// Fails with `Interrupted`.
    Interrupted,
}

/// One fuzz input, parsed.
#[derive(Debug, Clone)]
pub struct Script {
    /// The codec.
    pub codec: CodecChoice,
    /// Whether the connection gets an outbound channel.
    pub outbound_channel: bool,
    /// After how many messages the reactor disconnects, if it does.
    pub disconnect_after: Option<usize>,
    /// `ConnectionConfig::max_buffer_length`.
    pub max_buffer_length: usize,
    /// `ConnectionConfig::max_queued_outbound_messages`.
    pub max_queued_outbound_messages: usize,
    /// `ConnectionConfig::buffer_allocation_increment`.
    pub buffer_allocation_increment: usize,
    /// The `InboundMemory` budget's limit.
    pub inbound_memory_limit: usize,
    /// The reads, in order.
    pub reads: Vec<Read>,
    /// The writes, in order.
    pub writes: Vec<Write>,
    /// How many flushes (or shutdowns) are `Pending`, counting from the first.
    pub pending_flushes: usize,
}

impl Script {
    /// Parses an input; every input is a script.
    pub fn parse(input: &[u8]) -> Script {
        let mut header = [0u8; HEADER_LEN];
        let split = input.len().min(HEADER_LEN);
        header[..split].copy_from_slice(&input[..split]);
        let mut steps = &input[split..];
        let mut script = Script {
            codec: match header[0] & 3 {
                0 => CodecChoice::ProstBounded,
                1 => CodecChoice::ProstUnbounded,
                2 => CodecChoice::LengthDelimited,
                _ => CodecChoice::Lines,
            },
            outbound_channel: header[0] & 4 != 0,
            disconnect_after: Some(usize::from(header[0] >> 3)).filter(|&n| n > 0),
            max_buffer_length: (4 + usize::from(header[1]) % 61) * 1024,
            max_queued_outbound_messages: 1 + usize::from(header[2] & 7),
            buffer_allocation_increment: [4, 16, 64, 1][usize::from(header[2] >> 3 & 3)] * 1024,
            inbound_memory_limit: (usize::from(header[3]) + 1) * 512,
            reads: Vec::new(),
            writes: Vec::new(),
            pending_flushes: 0,
        };
        while let Some((&opcode, rest)) = steps.split_first() {
            steps = rest;
            match opcode {
                0x00..=0xEF => script.data(take(&mut steps, usize::from(opcode) + 1)),
                0xF0 => {
                    let len = take(&mut steps, 2);
                    let len = len.iter().fold(0, |len, &b| len << 8 | usize::from(b));
                    script.data(take(&mut steps, len));
                }
                0xF1 => script.reads.push(Read::Pending),
                0xF2 => script.reads.push(Read::Eof),
                0xF3 => script
                    .reads
                    .push(Read::Error(io::ErrorKind::ConnectionReset)),
                0xF4 => script.reads.push(Read::Error(io::ErrorKind::Interrupted)),
                0xF5 => script.writes.push(Write::Pending),
                0xF6 => {
                    let limit = take(&mut steps, 1).first().map_or(0, |&b| usize::from(b));
                    script.writes.push(Write::Short(limit + 1));
                }
                0xF7 => script.writes.push(Write::Interrupted),
                0xF8 => script.pending_flushes += 1,
                0xF9 => script.reads.push(Read::Close),
                0xFA => script.reads.push(Read::DropSender),
                0xFB..=0xFF => script.writes.push(Write::Short(usize::from(opcode - 0xFA))),
            }
        }
        script
    }

    /// A data step; an empty one (the input ran out) is no read at all, since a
    /// read of 0 bytes would be EOF.
    fn data(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.reads.push(Read::Data(bytes.to_vec()));
        }
    }

    /// The bytes the peer sends before its stream ends: every data step before the
    /// first EOF or failed read (an `Interrupted` read is retried, so it ends
    /// nothing), or all of them when the script runs out first.
    pub fn sent_before_end(&self) -> Vec<u8> {
        let mut sent = Vec::new();
        for read in &self.reads {
            match read {
                Read::Data(bytes) => sent.extend_from_slice(bytes),
                Read::Eof => break,
                Read::Error(kind) if *kind != io::ErrorKind::Interrupted => break,
                _ => {}
            }
        }
        sent
    }
}

/// Takes up to `n` bytes off the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (taken, rest) = input.split_at(n.min(input.len()));
    *input = rest;
    taken
}
