//! The receiving half: length-delimited frames into prost messages.

use std::fmt;
use std::marker::PhantomData;

use bytes::{Buf, BytesMut};
use prost::encoding::{decode_key, DecodeContext, WireType};
use protosocket::{DecodeError, Decoder};

/// The longest protobuf varint: 10 bytes carry 64 bits, 7 at a time.
const MAX_VARINT_LEN: usize = 10;

/// Reads frames of a protobuf varint length followed by that many bytes of one
/// encoded `M`, as [`prost::Message::encode_length_delimited`] writes them.
///
/// The prefix is checked as soon as it arrives: a prefix longer than 10 bytes, or a
/// value past 64 bits (or past `isize::MAX`, more than any buffer holds), is
/// [`DecodeError::Invalid`] without waiting for the body. While the body is still
/// arriving the decoder reports [`DecodeError::Incomplete`] with the whole frame's
/// length, prefix included.
///
/// The decoder has no frame limit of its own: in a
/// [`Connection`](protosocket::Connection), a frame announced longer than the
/// connection's `max_buffer_length` closes it with `CloseReason::FrameTooLarge` as
/// soon as the prefix arrives, without buffering the body. To decode outside a
/// connection, [`with_max_frame_length`](Self::with_max_frame_length) sets one.
///
/// [`decode_buffer`](Decoder::decode_buffer) splits the frame off the receive
/// buffer and decodes from it without copying, so `bytes::Bytes` fields
/// (`#[prost(bytes = "bytes")]`) share the receive buffer's memory.
///
/// ```
/// use protosocket::{DecodeError, Decoder};
/// use protosocket_prost::ProstDecoder;
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Ping {
///     #[prost(uint64, tag = "1")]
///     id: u64,
/// }
///
/// let mut decoder = ProstDecoder::<Ping>::new();
/// assert_eq!(decoder.decode(b"\x02\x08\x05").unwrap(), (3, Ping { id: 5 }));
/// assert!(matches!(
///     decoder.decode(b"\x02\x08"),
///     Err(DecodeError::Incomplete { frame_len: Some(3) })
/// ));
/// ```
///
/// `W` decodes each frame's message: [`Prost`], prost's own
/// [`Message::decode`](prost::Message::decode), unless a [`DecodeMessage`] of
/// your own (protosocket-build writes one for its envelopes) does it faster.
pub struct ProstDecoder<M, W = Prost> {
    /// The largest frame accepted, prefix included: `isize::MAX` unless set.
    limit: usize,
    message: PhantomData<fn() -> (M, W)>,
}

/// How a [`ProstDecoder`] decodes the message of one frame.
pub trait DecodeMessage<M> {
    /// Decodes `frame`, the bytes after the length prefix, as one `M`.
    ///
    /// # Errors
    ///
    /// The bytes are not an encoded `M`.
    fn decode_message(frame: impl Buf) -> Result<M, prost::DecodeError>;
}

/// prost's own decoding, [`Message::decode`](prost::Message::decode): the
/// default of [`ProstDecoder`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Prost;

impl<M: prost::Message + Default> DecodeMessage<M> for Prost {
    #[inline]
    fn decode_message(frame: impl Buf) -> Result<M, prost::DecodeError> {
        M::decode(frame)
    }
}

/// Merges a length-delimited message field (its length prefix and its
/// fields) from `buf` into `message`, as prost's
/// `prost::encoding::message::merge` does, with the loop over its fields in
/// the caller: for a [`DecodeMessage`] that takes an envelope's body straight
/// from the frame, where prost would call out to a merge loop per message type.
///
/// A field whose length prefix is in `buf`'s first chunk and whose body is
/// all in `buf` is read here; anything else (a wire type that is not
/// length-delimited, a truncated or malformed prefix) goes to prost, which
/// reads it or reports the error. A nested field that runs past the body's
/// end is prost's "delimited length exceeded", as from prost. prost's
/// recursion limit is not counted down for this one level (the counter is
/// private to prost): nested messages inside it still count.
///
/// # Errors
///
/// prost's, for bytes that are not an encoded `M` field.
#[inline(always)]
pub fn merge_message<M: prost::Message, B: Buf>(
    wire_type: WireType,
    message: &mut M,
    buf: &mut B,
    ctx: DecodeContext,
) -> Result<(), prost::DecodeError> {
    merge_message_with(wire_type, message, buf, ctx, |_, _, _, _| Ok(false))
}

/// [`merge_message`], with each field of the message offered first to
/// `field(message, tag, wire_type, buf)`: it reads the field and returns
/// `true`, or returns `false` without reading and the field goes to the
/// message's own `merge_field`. protosocket-build's envelopes read a body's
/// plain fields (integers, `bool`, `string`) this way, in line.
///
/// `field` must read a field exactly as prost's `merge_field` would, value
/// and errors: it is not called when prost reads the message itself (a
/// prefix that is not all in `buf`'s first chunk).
///
/// # Errors
///
/// prost's, for bytes that are not an encoded `M` field, and `field`'s.
#[inline(always)]
pub fn merge_message_with<M, B, F>(
    wire_type: WireType,
    message: &mut M,
    buf: &mut B,
    ctx: DecodeContext,
    mut field: F,
) -> Result<(), prost::DecodeError>
where
    M: prost::Message,
    B: Buf,
    F: FnMut(&mut M, u32, WireType, &mut B) -> Result<bool, prost::DecodeError>,
{
    if wire_type == WireType::LengthDelimited {
        let chunk = buf.chunk();
        let mut after_prefix = chunk;
        if let Ok(len) = crate::wire::get_varint(&mut after_prefix) {
            let prefix_len = chunk.len() - after_prefix.len();
            let remaining = buf.remaining() - prefix_len;
            if len <= remaining as u64 {
                buf.advance(prefix_len);
                // At most `remaining`, so it fits a `usize`.
                let limit = remaining - len as usize;
                while buf.remaining() > limit {
                    let (tag, wire_type) = decode_key(buf)?;
                    if !field(message, tag, wire_type, buf)? {
                        message.merge_field(tag, wire_type, buf, ctx.clone())?;
                    }
                }
                if buf.remaining() != limit {
                    return Err(delimited_length_exceeded());
                }
                return Ok(());
            }
        }
    }
    prost::encoding::message::merge(wire_type, message, buf, ctx)
}

/// prost's error for a nested field that ran past its message's end. prost
/// makes it only inside its merge loop, so it is made there, from a message
/// whose one-byte body is read as two.
#[cold]
fn delimited_length_exceeded() -> prost::DecodeError {
    let mut overrun: &[u8] = &[1, 0, 0];
    match prost::encoding::merge_loop(
        &mut (),
        &mut overrun,
        DecodeContext::default(),
        |(), buf, _| {
            buf.advance(2);
            Ok(())
        },
    ) {
        Err(error) => error,
        Ok(()) => unreachable!("a two-byte read of a one-byte body is past its end"),
    }
}

impl<M, W> ProstDecoder<M, W> {
    /// A decoder with no frame limit of its own: the connection's
    /// `max_buffer_length` bounds frames.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_frame_length(usize::MAX)
    }

    /// A decoder refusing (as [`DecodeError::Invalid`]) frames over
    /// `max_frame_length` bytes, prefix included, as soon as their prefix arrives:
    /// for decoding outside a connection. No buffer holds more than `isize::MAX`
    /// bytes, so a larger maximum means none.
    #[must_use]
    pub fn with_max_frame_length(max_frame_length: usize) -> Self {
        Self {
            limit: max_frame_length.min(isize::MAX as usize),
            message: PhantomData,
        }
    }

    /// The largest frame accepted, prefix included, when one was set; `None` when
    /// only the connection's `max_buffer_length` applies.
    #[must_use]
    pub fn max_frame_length(&self) -> Option<usize> {
        (self.limit < isize::MAX as usize).then_some(self.limit)
    }

    /// Reads the prefix at the start of `buffer`: `(prefix_len, frame_len)`.
    #[inline]
    fn frame(&self, buffer: &[u8]) -> Result<(usize, usize), DecodeError> {
        let (prefix_len, body_len) = read_varint(buffer)?;
        let frame_len = usize::try_from(body_len)
            .ok()
            .and_then(|body_len| body_len.checked_add(prefix_len))
            .filter(|&frame_len| frame_len <= self.limit);
        match frame_len {
            Some(frame_len) if frame_len <= buffer.len() => Ok((prefix_len, frame_len)),
            Some(frame_len) => Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            }),
            None => Err(too_long(body_len, self.max_frame_length())),
        }
    }
}

impl<M, W> Default for ProstDecoder<M, W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M, W> Clone for ProstDecoder<M, W> {
    fn clone(&self) -> Self {
        Self::with_max_frame_length(self.limit)
    }
}

impl<M, W> fmt::Debug for ProstDecoder<M, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ProstDecoder");
        debug
            .field("max_frame_length", &self.max_frame_length())
            .finish()
    }
}

impl<M, W: DecodeMessage<M>> Decoder for ProstDecoder<M, W> {
    type Message = M;

    #[inline]
    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, M), DecodeError> {
        let (prefix_len, frame_len) = self.frame(buffer)?;
        let message = W::decode_message(&buffer[prefix_len..frame_len]).map_err(undecodable)?;
        Ok((frame_len, message))
    }

    #[inline]
    fn decode_buffer(&mut self, buffer: &mut BytesMut) -> Result<M, DecodeError> {
        let (prefix_len, frame_len) = self.frame(buffer)?;
        let frame = buffer.split_to(frame_len).freeze();
        // prost takes `bytes::Bytes` fields from a `Bytes` source by reference
        // counting (`copy_to_bytes`), so they share the receive buffer.
        match W::decode_message(frame.slice(prefix_len..)) {
            Ok(message) => Ok(message),
            Err(error) => {
                restore(buffer, &frame);
                Err(undecodable(error))
            }
        }
    }
}

/// Parses the protobuf varint at the start of `buffer`: `(its length, its value)`.
#[inline]
fn read_varint(buffer: &[u8]) -> Result<(usize, u64), DecodeError> {
    let mut value = 0u64;
    for (i, &byte) in buffer.iter().take(MAX_VARINT_LEN).enumerate() {
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            // The tenth byte holds bit 63 alone; anything more is past 64 bits.
            return Err(DecodeError::invalid("length prefix overflows 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((i + 1, value));
        }
    }
    if buffer.len() >= MAX_VARINT_LEN {
        Err(DecodeError::invalid("length prefix longer than 10 bytes"))
    } else {
        Err(DecodeError::Incomplete { frame_len: None })
    }
}

#[cold]
fn too_long(body_len: u64, max: Option<usize>) -> DecodeError {
    let over = max.map_or_else(
        || "more than any buffer holds".to_string(),
        |max| format!("over the {max}-byte maximum"),
    );
    DecodeError::invalid(format_args!(
        "frame announces a {body_len}-byte message, {over}"
    ))
}

#[cold]
fn undecodable(error: prost::DecodeError) -> DecodeError {
    DecodeError::invalid(format_args!("undecodable protobuf message: {error}"))
}

/// Puts a frame that failed to decode back in front of `buffer`, so an error leaves
/// the buffer as it was. Cold: the connection closes after it anyway.
#[cold]
fn restore(buffer: &mut BytesMut, frame: &[u8]) {
    let mut whole = BytesMut::with_capacity(frame.len() + buffer.len());
    whole.extend_from_slice(frame);
    whole.extend_from_slice(buffer);
    *buffer = whole;
}

#[cfg(test)]
mod tests {
    use bytes::Buf;
    use prost::encoding::{DecodeContext, WireType};
    use prost::Message;

    use super::merge_message;

    #[derive(Clone, PartialEq, Message)]
    struct Inner {
        #[prost(uint64, tag = "1")]
        number: u64,
        #[prost(string, tag = "2")]
        text: String,
    }

    /// `merge_message` on `field` (a length prefix and a body), from `buf`,
    /// beside prost's own merge of the same bytes from a slice.
    fn both(field: &[u8], mut buf: impl Buf) -> (Result<Inner, String>, Result<Inner, String>) {
        let mut ours = Inner::default();
        let ours = merge_message(
            WireType::LengthDelimited,
            &mut ours,
            &mut buf,
            DecodeContext::default(),
        )
        .map(|()| ours)
        .map_err(|error| error.to_string());
        let mut theirs = Inner::default();
        let theirs = prost::encoding::message::merge(
            WireType::LengthDelimited,
            &mut theirs,
            &mut &field[..],
            DecodeContext::default(),
        )
        .map(|()| theirs)
        .map_err(|error| error.to_string());
        (ours, theirs)
    }

    #[test]
    fn merges_as_prost_does_in_one_chunk_or_split_across_two() {
        let inner = Inner {
            number: 300,
            text: "hello".to_owned(),
        };
        let field = inner.encode_length_delimited_to_vec();
        let mut cases = vec![
            field.clone(),
            // A nested field running past the body's end.
            vec![0x01, 0x08, 0x05],
            // A nested string past the body's end.
            vec![0x03, 0x12, 0x05, b'a', b'b', b'c'],
            // A body longer than what follows.
            vec![0x09, 0x08, 0x05],
            // A prefix cut short, and one past 64 bits.
            vec![0x80],
            vec![0xff; 11],
        ];
        cases.push(Vec::new());
        for case in &cases {
            let (ours, theirs) = both(case, &case[..]);
            assert_eq!(ours, theirs, "one chunk: {case:?}");
            // The same bytes in two chunks: the prefix or the body split, so
            // prost's own merge takes over when the first chunk is short.
            for split in 0..=case.len() {
                let (front, back) = case.split_at(split);
                let (ours, theirs) = both(case, front.chain(back));
                assert_eq!(ours, theirs, "split at {split}: {case:?}");
            }
        }
        assert_eq!(both(&field, &field[..]).0, Ok(inner));
    }

    #[test]
    fn another_wire_type_is_prosts_error() {
        let mut inner = Inner::default();
        let outcome = merge_message(
            WireType::Varint,
            &mut inner,
            &mut &[0x05u8][..],
            DecodeContext::default(),
        );
        assert!(outcome.is_err());
    }
}
