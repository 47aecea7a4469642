//! Test codecs: the stock [`LengthDelimitedCodec`] most tests use, and codecs made
//! to reach special cases (absurd lengths, invalid frames, skipped bytes, empty
//! frames). The special ones carry `Vec<u8>` messages; the reactors take any
//! codec whose messages are bytes.

use protosocket::{DecodeError, Decoder, LengthDelimitedCodec, PooledEncoder, SerializeInto};

/// A big-endian u32 length, then that many bytes of body: the codec most tests
/// use, with `bytes::Bytes` messages.
pub(crate) type U32Codec = LengthDelimitedCodec;

pub(crate) fn u32_codec() -> U32Codec {
    LengthDelimitedCodec::new()
}

/// One [`U32Codec`] frame, written out by hand.
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).expect("test message over 4 GiB");
    [&len.to_be_bytes()[..], body].concat()
}

/// [`U32Codec`] frames back to back.
pub(crate) fn frames<'a>(bodies: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    bodies.into_iter().flat_map(frame).collect()
}

/// A big-endian u64 length, then that many bytes: lets a peer announce absurd sizes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LengthPrefixed64;

impl SerializeInto for LengthPrefixed64 {
    type Message = Vec<u8>;

    fn serialize_into(&mut self, message: Vec<u8>, buffer: &mut Vec<u8>) {
        buffer.extend_from_slice(&(message.len() as u64).to_be_bytes());
        buffer.extend_from_slice(&message);
    }
}

impl Decoder for LengthPrefixed64 {
    type Message = Vec<u8>;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
        let Some(prefix) = buffer.first_chunk::<8>() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let frame_len = usize::try_from(u64::from_be_bytes(*prefix))
            .ok()
            .and_then(|len| len.checked_add(8))
            .ok_or_else(|| DecodeError::invalid("length prefix overflows usize"))?;
        match buffer.get(8..frame_len) {
            Some(body) => Ok((frame_len, body.to_vec())),
            None => Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            }),
        }
    }
}

/// The first byte of every [`Checked`] frame.
pub(crate) const MAGIC: u8 = 0xA5;

/// A validating codec: [`MAGIC`], a big-endian u32 length, then a UTF-8 body.
/// Anything else is [`DecodeError::Invalid`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Checked;

/// [`Checked`] with a pooled encoder.
pub(crate) type CheckedCodec = (PooledEncoder<Checked>, Checked);

impl Checked {
    /// One frame with `body`, valid or not.
    pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = vec![MAGIC];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    pub(crate) fn codec() -> CheckedCodec {
        (PooledEncoder::new(Checked), Checked)
    }
}

impl SerializeInto for Checked {
    type Message = Vec<u8>;

    fn serialize_into(&mut self, message: Vec<u8>, buffer: &mut Vec<u8>) {
        buffer.extend_from_slice(&Checked::frame(&message));
    }
}

impl Decoder for Checked {
    type Message = Vec<u8>;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
        let Some(header) = buffer.first_chunk::<5>() else {
            if buffer.first().is_some_and(|&b| b != MAGIC) {
                return Err(DecodeError::invalid("bad magic byte"));
            }
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        if header[0] != MAGIC {
            return Err(DecodeError::invalid("bad magic byte"));
        }
        let frame_len =
            5 + u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let Some(body) = buffer.get(5..frame_len) else {
            return Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            });
        };
        std::str::from_utf8(body).map_err(DecodeError::invalid)?;
        Ok((frame_len, body.to_vec()))
    }
}

/// Frames of one length byte and a body, with runs of `0xFF` padding between
/// them that the decoder asks the connection to skip.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Padded;

impl Padded {
    /// The padding byte.
    pub(crate) const PAD: u8 = 0xFF;
}

impl SerializeInto for Padded {
    type Message = Vec<u8>;

    fn serialize_into(&mut self, message: Vec<u8>, buffer: &mut Vec<u8>) {
        let len = u8::try_from(message.len()).expect("padded frames hold < 255 bytes");
        assert_ne!(len, Self::PAD, "a length of 255 reads as padding");
        buffer.push(len);
        buffer.extend_from_slice(&message);
    }
}

impl Decoder for Padded {
    type Message = Vec<u8>;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
        let padding = buffer.iter().take_while(|&&b| b == Self::PAD).count();
        if padding > 0 {
            return Err(DecodeError::Skip(padding));
        }
        let Some(&len) = buffer.first() else {
            return Err(DecodeError::Incomplete { frame_len: None });
        };
        let frame_len = 1 + len as usize;
        match buffer.get(1..frame_len) {
            Some(body) => Ok((frame_len, body.to_vec())),
            None => Err(DecodeError::Incomplete {
                frame_len: Some(frame_len),
            }),
        }
    }
}

/// No framing: a message is its bytes, so an empty message encodes to nothing at
/// all. Decoding takes whatever has arrived as one message.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Raw;

impl SerializeInto for Raw {
    type Message = Vec<u8>;

    fn serialize_into(&mut self, message: Vec<u8>, buffer: &mut Vec<u8>) {
        buffer.extend_from_slice(&message);
    }
}

impl Decoder for Raw {
    type Message = Vec<u8>;

    fn decode(&mut self, buffer: &[u8]) -> Result<(usize, Vec<u8>), DecodeError> {
        Ok((buffer.len(), buffer.to_vec()))
    }
}
