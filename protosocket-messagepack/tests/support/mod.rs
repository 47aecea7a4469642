//! Test messages, an echo reactor and bounded waits shared by the tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use protosocket::{Encoder, MessageReactor, ReactorStatus, Replies};
use protosocket_messagepack::MessagePackCodec;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The longest any network wait may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {TIMEOUT:?}: {what}"),
    }
}

/// An ordinary message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) tags: Vec<u32>,
}

/// A struct with no fields: a one-byte body (an empty map).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Empty {}

/// A unit struct: a one-byte body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Unit;

/// Items of assorted sizes, one whose body passes 64 KiB.
pub(crate) fn items() -> Vec<Item> {
    vec![
        Item {
            id: 1,
            name: "one".into(),
            tags: vec![1, 2, 3],
        },
        Item {
            id: 0,
            name: String::new(),
            tags: Vec::new(),
        },
        Item {
            id: u64::MAX,
            name: "x".repeat(70_000),
            tags: vec![u32::MAX],
        },
        Item {
            id: 7,
            name: "seven".into(),
            tags: Vec::new(),
        },
    ]
}

/// `messages` encoded back to back through `encoder`'s `encode_into`, as a
/// connection stages them.
pub(crate) fn encode_all<E: Encoder>(encoder: &mut E, messages: Vec<E::Message>) -> Vec<u8> {
    let mut wire = Vec::new();
    for message in messages {
        assert!(encoder.encode_into(message, &mut wire).is_none());
    }
    wire
}

/// A frame built by hand: `0xCE`, the body length big-endian, the body.
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let mut frame = vec![0xCE];
    frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// Sends every inbound message straight back; keeps the connection's sender so the
/// connection stays open.
pub(crate) struct Echo<M> {
    pub(crate) sender: protosocket::spillway::Sender<M>,
}

impl<M> MessageReactor for Echo<M>
where
    M: Serialize + DeserializeOwned + Unpin,
{
    type Codec = MessagePackCodec<M, M>;
    type Inbound = M;
    type Outbound = M;
    type LogicalOutbound = M;

    fn on_inbound_message(&mut self, message: M, replies: &mut Replies<M>) -> ReactorStatus {
        replies.push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: M) -> M {
        message
    }
}
