//! What the server answers, and how an answer is written in RESP2 or RESP3.

use std::borrow::Cow;

use bytes::Bytes;
use protosocket::SerializeInto;

use crate::short::Inline;
use crate::store::SHORT_VALUE;

/// The protocol a connection speaks: RESP2 until the client says `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2: nulls are `$-1`, maps are flat arrays.
    #[default]
    Resp2,
    /// RESP3: nulls are `_`, maps are `%`, `INFO` is a verbatim string.
    Resp3,
}

/// One answer, in terms of RESP3's types; a RESP2 connection gets the closest
/// RESP2 type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string such as `PONG`.
    Simple(&'static str),
    /// An error: the text after the `-`, starting with its code (`ERR ...`,
    /// `WRONGTYPE ...`).
    Error(Cow<'static, str>),
    /// An integer.
    Integer(i64),
    /// A bulk string.
    Bulk(Bytes),
    /// A bulk string copied out of the store: a short value.
    BulkShort(Inline<SHORT_VALUE>),
    /// A bulk string holding a number's decimal digits (a counter read with `GET`).
    BulkInteger(i64),
    /// A bulk string of static text.
    BulkStatic(&'static str),
    /// Nothing: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// An array.
    Array(Vec<Reply>),
    /// A map: key, value, key, value... in an array for RESP2.
    Map(Vec<(Reply, Reply)>),
    /// Text for a person (`INFO`): a bulk string in RESP2, a `txt` verbatim
    /// string in RESP3.
    Verbatim(String),
}

impl Reply {
    /// An error reply with a static text.
    #[inline]
    pub fn error(text: &'static str) -> Self {
        Reply::Error(Cow::Borrowed(text))
    }

    /// `-ERR syntax error`.
    pub fn syntax_error() -> Self {
        Reply::error("ERR syntax error")
    }

    /// `-ERR value is not an integer or out of range`.
    pub fn not_an_integer() -> Self {
        Reply::error("ERR value is not an integer or out of range")
    }

    /// `-WRONGTYPE Operation against a key holding the wrong kind of value`.
    pub fn wrong_type() -> Self {
        Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")
    }

    /// `-ERR wrong number of arguments for 'NAME' command`, `name` as Redis writes
    /// it (lower case, `container|sub` for a subcommand).
    pub fn wrong_arity(name: &str) -> Self {
        Reply::Error(Cow::Owned(format!(
            "ERR wrong number of arguments for '{name}' command"
        )))
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// A reply with the protocol it is written in: the protocol the connection spoke
/// when the reply was made (a reply queued before `HELLO 3` stays RESP2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The answer.
    pub reply: Reply,
    /// How to write it.
    pub protocol: Protocol,
}

/// Writes [`Frame`]s in RESP; wrap it in a [`protosocket::PooledEncoder`].
#[derive(Debug, Default, Clone, Copy)]
pub struct RespSerializer;

impl SerializeInto for RespSerializer {
    type Message = Frame;

    #[inline]
    fn serialize_into(&mut self, frame: Frame, buffer: &mut Vec<u8>) {
        write_reply(&frame.reply, frame.protocol, buffer);
    }
}

/// Appends `reply`'s RESP encoding to `out`.
pub fn write_reply(reply: &Reply, protocol: Protocol, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Simple(text) => write_line(b'+', text.as_bytes(), out),
        Reply::Error(text) => write_line(b'-', text.as_bytes(), out),
        Reply::Integer(value) => {
            out.push(b':');
            write_decimal(*value, out);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(bytes) => write_bulk(b'$', bytes, out),
        Reply::BulkShort(inline) => write_bulk(b'$', inline.as_slice(), out),
        Reply::BulkStatic(text) => write_bulk(b'$', text.as_bytes(), out),
        Reply::BulkInteger(value) => {
            let (digits, start) = decimal(*value);
            write_bulk(b'$', &digits[start..], out);
        }
        Reply::Null => match protocol {
            Protocol::Resp2 => out.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => out.extend_from_slice(b"_\r\n"),
        },
        Reply::Array(items) => {
            write_header(b'*', items.len(), out);
            for item in items {
                write_reply(item, protocol, out);
            }
        }
        Reply::Map(pairs) => {
            match protocol {
                Protocol::Resp2 => write_header(b'*', pairs.len() * 2, out),
                Protocol::Resp3 => write_header(b'%', pairs.len(), out),
            }
            for (key, value) in pairs {
                write_reply(key, protocol, out);
                write_reply(value, protocol, out);
            }
        }
        Reply::Verbatim(text) => match protocol {
            Protocol::Resp2 => write_bulk(b'$', text.as_bytes(), out),
            Protocol::Resp3 => {
                write_header(b'=', text.len() + 4, out);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        },
    }
}

/// `+text` or `-text`; a line end in the text would end the reply early, so line
/// ends become spaces (as Redis does for its error texts).
fn write_line(kind: u8, text: &[u8], out: &mut Vec<u8>) {
    out.push(kind);
    out.extend(text.iter().map(|&b| match b {
        b'\r' | b'\n' => b' ',
        other => other,
    }));
    out.extend_from_slice(b"\r\n");
}

#[inline]
fn write_header(kind: u8, len: usize, out: &mut Vec<u8>) {
    if len < 10 {
        // Most headers: short values, small arrays.
        out.extend_from_slice(&[kind, b'0' + len as u8, b'\r', b'\n']);
        return;
    }
    out.push(kind);
    write_decimal(len as i64, out);
    out.extend_from_slice(b"\r\n");
}

#[inline]
fn write_bulk(kind: u8, bytes: &[u8], out: &mut Vec<u8>) {
    write_header(kind, bytes.len(), out);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends `value` in decimal.
#[inline]
fn write_decimal(value: i64, out: &mut Vec<u8>) {
    let (digits, start) = decimal(value);
    out.extend_from_slice(&digits[start..]);
}

/// `value` in decimal, without going through `fmt`: the text is
/// `digits[start..]`.
#[inline]
pub(crate) fn decimal(value: i64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    (digits, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(reply: Reply, protocol: Protocol) -> Vec<u8> {
        let mut out = Vec::new();
        write_reply(&reply, protocol, &mut out);
        out
    }

    #[test]
    fn scalars() {
        assert_eq!(encode(Reply::Ok, Protocol::Resp2), b"+OK\r\n");
        assert_eq!(encode(Reply::Integer(-42), Protocol::Resp2), b":-42\r\n");
        assert_eq!(
            encode(Reply::Integer(i64::MIN), Protocol::Resp2),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(
            encode(Reply::BulkInteger(0), Protocol::Resp2),
            b"$1\r\n0\r\n"
        );
        assert_eq!(
            encode(Reply::Bulk(Bytes::from_static(b"")), Protocol::Resp2),
            b"$0\r\n\r\n"
        );
        assert_eq!(
            encode(Reply::error("ERR a\r\nb"), Protocol::Resp2),
            b"-ERR a  b\r\n"
        );
    }

    #[test]
    fn types_that_differ_by_protocol() {
        assert_eq!(encode(Reply::Null, Protocol::Resp2), b"$-1\r\n");
        assert_eq!(encode(Reply::Null, Protocol::Resp3), b"_\r\n");
        let map = Reply::Map(vec![(Reply::BulkStatic("a"), Reply::Integer(1))]);
        assert_eq!(
            encode(map.clone(), Protocol::Resp2),
            b"*2\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(encode(map, Protocol::Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        let info = Reply::Verbatim("x:1\r\n".into());
        assert_eq!(encode(info.clone(), Protocol::Resp2), b"$5\r\nx:1\r\n\r\n");
        assert_eq!(encode(info, Protocol::Resp3), b"=9\r\ntxt:x:1\r\n\r\n");
    }
}
