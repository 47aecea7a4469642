//! Protobuf varints with their short cases in line, for a [`DecodeMessage`] or
//! [`EncodeMessage`] that reads and writes a message field by field
//! (protosocket-build's generated envelopes use them for their own fields).
//!
//! prost's `encode_varint` is a loop and its `decode_varint` calls out for any
//! value past one byte; LLVM keeps both out of line, so an rpc id or a length
//! costs a call each way. These take one and two bytes (values below 16,384:
//! every key, and most ids and lengths) in the caller and hand anything longer
//! to prost. The bytes and the values are prost's.
//!
//! [`DecodeMessage`]: crate::DecodeMessage
//! [`EncodeMessage`]: crate::EncodeMessage

use bytes::Buf;

/// Appends `value` as a protobuf varint, as `prost::encoding::encode_varint`
/// does.
///
/// ```
/// let mut buffer = Vec::new();
/// protosocket_prost::wire::put_varint(300, &mut buffer);
/// assert_eq!(buffer, [0xac, 0x02]);
/// ```
#[inline(always)]
pub fn put_varint(value: u64, buffer: &mut Vec<u8>) {
    if value < 0x80 {
        buffer.push(value as u8);
    } else if value < 0x4000 {
        buffer.extend_from_slice(&[value as u8 | 0x80, (value >> 7) as u8]);
    } else {
        prost::encoding::encode_varint(value, buffer);
    }
}

/// Reads a protobuf varint from `buf`, as `prost::encoding::decode_varint`
/// does, with the same errors.
///
/// # Errors
///
/// prost's: `buf` ends inside the varint, or it runs past 10 bytes or 64
/// bits.
///
/// ```
/// let mut bytes: &[u8] = &[0xac, 0x02, 0x07];
/// assert_eq!(protosocket_prost::wire::get_varint(&mut bytes).unwrap(), 300);
/// assert_eq!(bytes, [0x07]);
/// ```
#[inline(always)]
pub fn get_varint(buf: &mut impl Buf) -> Result<u64, prost::DecodeError> {
    let chunk = buf.chunk();
    match *chunk {
        [first, ..] if first < 0x80 => {
            buf.advance(1);
            Ok(u64::from(first))
        }
        [first, second, ..] if second < 0x80 => {
            buf.advance(2);
            Ok(u64::from(first & 0x7f) | u64::from(second) << 7)
        }
        _ => prost::encoding::decode_varint(buf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values at every length's edges, and a few between.
    fn values() -> impl Iterator<Item = u64> {
        (0..64)
            .flat_map(|shift| {
                let edge = 1u64 << shift;
                [edge - 1, edge, edge + 1, edge.wrapping_mul(3) / 2]
            })
            .chain([u64::MAX, u64::MAX - 1, 0x3fff, 0x4000, 0x7f, 0x80])
    }

    #[test]
    fn writes_prost_bytes() {
        for value in values() {
            let mut ours = b"before".to_vec();
            let mut prost = ours.clone();
            put_varint(value, &mut ours);
            prost::encoding::encode_varint(value, &mut prost);
            assert_eq!(ours, prost, "{value}");
        }
    }

    #[test]
    fn reads_what_prost_reads() {
        for value in values() {
            let mut encoded = Vec::new();
            prost::encoding::encode_varint(value, &mut encoded);
            encoded.push(0x55);
            let mut ours: &[u8] = &encoded;
            assert_eq!(get_varint(&mut ours).unwrap(), value);
            assert_eq!(ours, [0x55], "{value}: what follows is left");
        }
    }

    #[test]
    fn reads_across_chunks() {
        // 300 split after its first byte: the second byte is in the next chunk.
        let mut split = Buf::chain(&[0xac_u8][..], &[0x02_u8, 0x07][..]);
        assert_eq!(get_varint(&mut split).unwrap(), 300);
        assert_eq!(split.remaining(), 1);
    }

    #[test]
    fn errs_where_prost_errs() {
        let cases: [&[u8]; 5] = [
            &[],
            &[0x80],
            &[0xff, 0xff],
            // 11 bytes of continuation.
            &[0xff; 11],
            // Ten bytes whose last carries bits past 64.
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ];
        for case in cases {
            let mut ours = case;
            let mut theirs = case;
            let expected = prost::encoding::decode_varint(&mut theirs).unwrap_err();
            assert_eq!(get_varint(&mut ours).unwrap_err(), expected, "{case:?}");
        }
    }

    #[test]
    fn non_minimal_two_bytes_read_as_prost() {
        // 0 written in two bytes: prost reads it, and so does this.
        let mut bytes: &[u8] = &[0x80, 0x00];
        assert_eq!(get_varint(&mut bytes).unwrap(), 0);
        assert!(bytes.is_empty());
    }
}
