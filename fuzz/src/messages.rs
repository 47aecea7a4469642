//! The message types the targets decode: small, but with every shape of field a
//! real schema has (scalars, bytes, a nested message, repeated fields, recursion),
//! and no floats, so that "decode, encode, decode" can be compared with `==`.

use serde::{Deserialize, Serialize};

/// The protobuf probe. Fields 1 and 2 are the RPC contract's id and control code.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Probe {
    /// The RPC id.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// The RPC control code.
    #[prost(uint32, tag = "2")]
    pub code: u32,
    /// `bytes::Bytes`, so the zero-copy `decode_buffer` path shares the receive
    /// buffer.
    #[prost(bytes = "bytes", tag = "3")]
    pub payload: bytes::Bytes,
    /// A nested message.
    #[prost(message, optional, tag = "4")]
    pub nested: Option<Nested>,
    /// Packed on encode, either form accepted on decode.
    #[prost(uint32, repeated, tag = "5")]
    pub values: Vec<u32>,
    /// A repeated message field.
    #[prost(message, repeated, tag = "6")]
    pub children: Vec<Nested>,
}

/// A message nested in [`Probe`], and in itself: prost's recursion limit is on the
/// decoder's path.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Nested {
    /// UTF-8 is checked on decode.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Zigzag varints.
    #[prost(sint64, tag = "2")]
    pub delta: i64,
    /// Recursion.
    #[prost(message, optional, boxed, tag = "3")]
    pub child: Option<Box<Nested>>,
}

/// The MessagePack probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// An RPC-style id.
    pub id: u64,
    /// An RPC-style control code.
    pub code: u32,
    /// msgpack `bin`, not an array of integers.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// A nested struct, or nil.
    pub nested: Option<Inner>,
    /// A repeated field of signed integers (msgpack picks the narrowest width).
    pub values: Vec<i64>,
    /// An enum with unit, newtype and struct variants.
    pub kind: Kind,
}

/// A struct nested in [`Record`], and in itself: rmp-serde's depth limit is on the
/// decoder's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inner {
    /// A msgpack `str`.
    pub name: String,
    /// Recursion.
    pub child: Option<Box<Inner>>,
}

/// Each of serde's enum variant shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Kind {
    /// A unit variant.
    Plain,
    /// A newtype variant.
    Tagged(u8),
    /// A struct variant.
    Pair {
        /// Negative values take msgpack's signed forms.
        left: i32,
        /// Ditto.
        right: i32,
    },
}
