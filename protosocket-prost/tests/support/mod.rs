//! Test messages, an echo reactor and bounded waits shared by the tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use protosocket::{Encoder, MessageReactor, ReactorStatus, Replies};
use protosocket_prost::ProstCodec;

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
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Item {
    #[prost(uint64, tag = "1")]
    pub(crate) id: u64,
    #[prost(string, tag = "2")]
    pub(crate) name: String,
}

/// A message whose payload prost can take from the receive buffer without copying.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Blob {
    #[prost(uint64, tag = "1")]
    pub(crate) id: u64,
    #[prost(bytes = "bytes", tag = "2")]
    pub(crate) payload: bytes::Bytes,
}

/// Items of assorted sizes, the empty one (a frame of just `0x00`) among them and
/// one whose body needs a 2-byte prefix.
pub(crate) fn items() -> Vec<Item> {
    vec![
        Item {
            id: 1,
            name: "one".into(),
        },
        Item::default(),
        Item {
            id: u64::MAX,
            name: "x".repeat(300),
        },
        Item::default(),
        Item {
            id: 7,
            name: String::new(),
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

/// Sends every inbound message straight back; keeps the connection's sender so the
/// connection stays open.
pub(crate) struct Echo<M> {
    pub(crate) sender: protosocket::spillway::Sender<M>,
}

impl<M> MessageReactor for Echo<M>
where
    M: prost::Message + Default + Unpin,
{
    type Codec = ProstCodec<M, M>;
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
