//! Writes the hand-made seed inputs into `corpus/<target>/seed-<name>`, each a
//! case from DESIGN.md's "Bad input gets" list or a valid exchange to mutate from.
//! Run from anywhere: `cargo run --manifest-path fuzz/Cargo.toml --example seeds`.

use std::fs;
use std::path::Path;

use prost::Message;
use protosocket_fuzz::connection::script::HEADER_LEN;
use protosocket_fuzz::messages::{Inner, Kind, Nested, Probe, Record};

/// Named inputs for one target.
type Seeds = Vec<(&'static str, Vec<u8>)>;

fn main() -> std::io::Result<()> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let targets: [(&str, Seeds); 4] = [
        ("prost_decoder", prost_seeds()),
        ("messagepack_decoder", messagepack_seeds()),
        ("line_codec", line_seeds()),
        ("connection", connection_seeds()),
    ];
    for (target, seeds) in targets {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        for (name, input) in seeds {
            fs::write(dir.join(format!("seed-{name}")), input)?;
        }
    }
    Ok(())
}

/// A protobuf varint.
fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}

fn probes() -> Vec<Probe> {
    let leaf = Nested {
        name: "leaf".into(),
        delta: -3,
        child: None,
    };
    vec![
        Probe::default(),
        Probe {
            id: 1,
            code: 2,
            ..Probe::default()
        },
        Probe {
            id: u64::MAX,
            code: 7,
            payload: bytes::Bytes::from_static(b"payload \x00\xff"),
            nested: Some(Nested {
                name: "outer".into(),
                delta: i64::MIN,
                child: Some(Box::new(leaf.clone())),
            }),
            values: vec![0, 1, 300, u32::MAX],
            children: vec![leaf.clone(), Nested::default()],
        },
    ]
}

/// A chain of `depth` nested messages: past prost's recursion limit at 100.
fn deep(depth: usize) -> Probe {
    let mut nested = Nested::default();
    for _ in 1..depth {
        nested = Nested {
            child: Some(Box::new(nested)),
            ..Nested::default()
        };
    }
    Probe {
        nested: Some(nested),
        ..Probe::default()
    }
}

fn prost_frames() -> Vec<u8> {
    probes()
        .iter()
        .flat_map(Message::encode_length_delimited_to_vec)
        .collect()
}

/// The first byte picks the maximum frame length (see
/// `prost_decoder::MAX_FRAME_LENGTHS`): 0 is the default, 6 is 4096.
fn prost_seeds() -> Seeds {
    let frames = prost_frames();
    let mut unpacked = Vec::new();
    for value in [5u32, 6] {
        // Field 5 as separate varints, the form packed fields also accept.
        unpacked.extend_from_slice(&[5 << 3]);
        unpacked.extend(varint(value.into()));
    }
    let unknown = [&[0x38u8, 0x01][..], &[0x42, 0x01, 0xAA][..]].concat();
    let with_len = |body: &[u8]| [&varint(body.len() as u64)[..], body].concat();
    vec![
        ("frames", [&[0][..], &frames].concat()),
        (
            "truncated",
            [&[0][..], &frames[..frames.len() - 1]].concat(),
        ),
        ("zero-length", vec![0, 0, 0, 0]),
        (
            "length-2-63",
            [&[0][..], &varint(1 << 63), b"body"].concat(),
        ),
        (
            "length-past-64-bits",
            [&[0][..], &[0xFF; 9], &[0x02]].concat(),
        ),
        (
            "prefix-11-bytes",
            [&[0][..], &[0x80; 10][..], &[0]].concat(),
        ),
        (
            "over-4096",
            [&[6][..], &varint(5000), &[0x08, 0x01]].concat(),
        ),
        ("max-clamped", [&[7][..], &varint(u64::MAX >> 1)].concat()),
        ("unpacked", [&[0][..], &with_len(&unpacked)].concat()),
        ("unknown-fields", [&[0][..], &with_len(&unknown)].concat()),
        (
            "bad-utf8",
            [&[0][..], &with_len(&[0x22, 0x03, 0x0A, 0x01, 0xFF])].concat(),
        ),
        (
            "deep",
            [&[0][..], &deep(120).encode_length_delimited_to_vec()].concat(),
        ),
        ("garbage", b"\x00\x05\xff\xff\xff\xff\xff".to_vec()),
    ]
}

fn records() -> Vec<Record> {
    vec![
        Record {
            id: 1,
            code: 0,
            payload: Vec::new(),
            nested: None,
            values: Vec::new(),
            kind: Kind::Plain,
        },
        Record {
            id: u64::MAX,
            code: 2,
            payload: b"\x00\xffbytes".to_vec(),
            nested: Some(Inner {
                name: "outer".into(),
                child: Some(Box::new(Inner {
                    name: "inner".into(),
                    child: None,
                })),
            }),
            values: vec![-1, 0, 127, 128, -129, i64::MIN, i64::MAX],
            kind: Kind::Pair {
                left: -5,
                right: 70000,
            },
        },
        Record {
            id: 3,
            code: 1,
            payload: vec![7; 40],
            nested: None,
            values: vec![3],
            kind: Kind::Tagged(9),
        },
    ]
}

/// A frame around `body`.
fn msgpack_frame(body: &[u8]) -> Vec<u8> {
    [&[0xCE][..], &(body.len() as u32).to_be_bytes(), body].concat()
}

/// The first byte picks the maximum frame length (see
/// `messagepack_decoder::MAX_FRAME_LENGTHS`): 0 is the default, 4 is 64.
fn messagepack_seeds() -> Seeds {
    let named: Vec<u8> = records()
        .iter()
        .flat_map(|record| msgpack_frame(&rmp_serde::to_vec_named(record).unwrap()))
        .collect();
    let compact: Vec<u8> = records()
        .iter()
        .flat_map(|record| msgpack_frame(&rmp_serde::to_vec(record).unwrap()))
        .collect();
    let one = rmp_serde::to_vec_named(&records()[0]).unwrap();
    // [name, [name, [...]]]: arrays two deep per level, past rmp-serde's 1024.
    let mut deep = Vec::new();
    for _ in 0..1100 {
        deep.extend_from_slice(&[0x92, 0xA0]);
    }
    deep.extend_from_slice(&[0x92, 0xA0, 0xC0]);
    let mut deep_record = rmp_serde::to_vec(&records()[0]).unwrap();
    // The compact record's fourth element is `nested`: nil in records()[0].
    let nil = deep_record.iter().rposition(|&b| b == 0xC0).unwrap();
    deep_record.splice(nil..=nil, deep);
    vec![
        ("named", [&[0][..], &named].concat()),
        ("compact", [&[0][..], &compact].concat()),
        ("truncated", [&[0][..], &named[..named.len() - 1]].concat()),
        ("header-only", [&[0][..], &named[..3]].concat()),
        ("zero-length", [0, 0xCE, 0, 0, 0, 0].to_vec()),
        (
            "length-u32-max",
            [0, 0xCE, 0xFF, 0xFF, 0xFF, 0xFF, 0x80].to_vec(),
        ),
        ("over-64", [&[4][..], &msgpack_frame(&[0xC0; 100])].concat()),
        ("bad-marker", [0, 0xCD, 0, 5, 0x81, 0xA2].to_vec()),
        (
            "trailing",
            [&[0][..], &msgpack_frame(&[&one[..], &[0xC0]].concat())].concat(),
        ),
        ("deep", [&[0][..], &msgpack_frame(&deep_record)].concat()),
        ("garbage", b"\x00\xce\x00\x00\x00\x03\xc1\xc1\xc1".to_vec()),
    ]
}

/// The first byte picks the limit (see `line_codec::MAX_LINE_LENGTHS`): 4 is 8,
/// 6 is 1024. The second sets the bytes per read, less one.
fn line_seeds() -> Seeds {
    vec![
        (
            "commands",
            b"\x06\x03echo hi\r\nupper there\nstats\n\nquit\n".to_vec(),
        ),
        (
            "at-limit",
            b"\x04\x00abcdefgh\nabcdefgh\r\nabcdefgh\r".to_vec(),
        ),
        ("over-limit", b"\x04\x01abcdefghi\nnext\n".to_vec()),
        ("no-newline", b"\x04\x02abcdefghijklmnop".to_vec()),
        ("bad-utf8", b"\x05\x00a\xff\xfeb\r\n\xc3\n".to_vec()),
        ("bare-cr", b"\x01\x00\r\r\n\r\n\n".to_vec()),
        ("no-limit", b"\x07\xffline\r\n".to_vec()),
        ("zero-limit", b"\x00\x00\n\r\nx\n".to_vec()),
    ]
}

/// A connection header (see `connection::script`): `codec` (0 prost bounded, 1
/// prost unbounded, 2 `LengthDelimitedCodec`, 3 `LinesCodec`, plus 4 for an
/// outbound channel), `buffer` KiB of
/// receive buffer (4 to 64), `queue` outbound messages (1 to 8), a 4 KiB
/// allocation increment, and `memory` KiB of inbound budget (in 512-byte steps).
fn header(codec: u8, buffer: usize, queue: u8, memory: usize) -> Vec<u8> {
    let header = vec![codec, (buffer - 4) as u8, queue - 1, (memory * 2 - 1) as u8];
    assert_eq!(header.len(), HEADER_LEN);
    header
}

/// One read step of `bytes`.
fn read(bytes: &[u8]) -> Vec<u8> {
    assert!(!bytes.is_empty() && bytes.len() <= 240);
    [&[bytes.len() as u8 - 1][..], bytes].concat()
}

/// A read step per byte, each after a `Pending` read.
fn trickle(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|&b| [READ_PENDING, 0x00, b])
        .collect()
}

fn u32_frame(body: &[u8]) -> Vec<u8> {
    [&(body.len() as u32).to_be_bytes()[..], body].concat()
}

const READ_PENDING: u8 = 0xF1;
const EOF: u8 = 0xF2;
const WRITE_PENDING: u8 = 0xF5;
const SHORT_WRITE_1: u8 = 0xFB;
const FLUSH_PENDING: u8 = 0xF8;
const CLOSE: u8 = 0xF9;
const DROP_SENDER: u8 = 0xFA;

fn connection_seeds() -> Seeds {
    let frames = prost_frames();
    let zero_length = vec![0u8; 64];
    let big_body = vec![0x5A; 3000];
    let big = [&[0xF0, 0x0B, 0xBC][..], &u32_frame(&big_body)[..]].concat();
    // 5 KiB without a newline, past a 4 KiB receive buffer.
    let endless_line = [&[0xF0, 0x14, 0x00][..], &[b'a'; 5 * 1024][..]].concat();
    vec![
        (
            "echo",
            [header(0, 4, 4, 64), read(&frames), vec![EOF]].concat(),
        ),
        (
            "trickle",
            [header(0, 4, 1, 64), trickle(&frames), vec![EOF]].concat(),
        ),
        (
            "slow-peer",
            [
                header(0, 4, 2, 64),
                vec![WRITE_PENDING, SHORT_WRITE_1, 0xF6, 0x02, WRITE_PENDING],
                vec![FLUSH_PENDING, FLUSH_PENDING],
                read(&frames),
                read(&frames),
            ]
            .concat(),
        ),
        (
            "zero-length-frames",
            [header(0, 4, 1, 64), read(&zero_length), vec![EOF]].concat(),
        ),
        (
            "cut-off",
            [
                header(0, 4, 4, 64),
                read(&frames[..frames.len() - 3]),
                vec![EOF],
            ]
            .concat(),
        ),
        (
            "eof-then-data",
            [header(0, 4, 4, 64), read(&frames), vec![EOF], read(&frames)].concat(),
        ),
        (
            "garbage",
            [
                header(0, 4, 4, 64),
                read(&frames),
                read(b"\x05\xff\xff\xff\xff\xff"),
            ]
            .concat(),
        ),
        (
            "length-2-63",
            [
                header(1, 4, 4, 64),
                read(&[&frames[..], &varint(1 << 63)].concat()),
            ]
            .concat(),
        ),
        (
            "over-buffer-prost",
            [
                header(1, 4, 4, 64),
                read(&[&frames[..], &varint(1 << 20)].concat()),
            ]
            .concat(),
        ),
        (
            "over-buffer",
            [
                header(2, 4, 4, 64),
                read(&u32_frame(b"hi")),
                read(&u32_frame(&[1; 5000])[..8]),
            ]
            .concat(),
        ),
        (
            "large-frames",
            [header(2, 8, 2, 64), big.clone(), big, vec![EOF]].concat(),
        ),
        (
            "lines",
            [
                header(3, 4, 2, 64),
                read(b"hello\r\n\nwor"),
                read(b"ld\n"),
                vec![EOF],
            ]
            .concat(),
        ),
        (
            "line-not-utf8",
            [header(3, 4, 4, 64), read(b"ok\nbad \xc3\x28\n")].concat(),
        ),
        (
            "endless-line",
            [header(3, 4, 4, 64), read(b"ok\n"), endless_line].concat(),
        ),
        (
            "tiny-budget",
            [header(2, 16, 4, 1), read(&u32_frame(b"hello")), vec![EOF]].concat(),
        ),
        (
            "owner-closes",
            // Pending reads to outlast the poll's rounds, so the owner sees the
            // request before the peer's EOF.
            [
                header(0, 4, 4, 64),
                read(&frames),
                vec![
                    CLOSE,
                    READ_PENDING,
                    READ_PENDING,
                    READ_PENDING,
                    READ_PENDING,
                    READ_PENDING,
                ],
                read(&frames),
            ]
            .concat(),
        ),
        (
            "sender-dropped",
            [
                header(4, 4, 4, 64),
                read(&frames),
                vec![DROP_SENDER],
                read(&frames),
            ]
            .concat(),
        ),
        (
            "read-error",
            [header(0, 4, 4, 64), read(&frames), vec![0xF4, 0xF3]].concat(),
        ),
    ]
}
