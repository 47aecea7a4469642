//! Helpers shared by the integration tests: codecs, reactors, a scripted in-memory
//! stream with a hand-driven poll loop, and a small TCP accept loop with a client.
//!
//! Every test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

mod client;
mod codec;
mod driver;
mod reactor;
mod scripted;
mod server;

use std::future::Future;
use std::time::Duration;

use protosocket::{Connection, ConnectionConfig, Decoder, Encoder};

pub(crate) use client::{read_frame, Client};
pub(crate) use codec::{
    frame, frames, u32_codec, Checked, CheckedCodec, LengthPrefixed64, Padded, Raw, U32Codec, MAGIC,
};
pub(crate) use driver::Driver;
pub(crate) use reactor::{lock, BytesCodec, Echo, Log, Sink};
pub(crate) use scripted::{Event, Read, Script, ScriptedStream, WritePolicy};
pub(crate) use server::{Server, ServerSide};

/// The longest any single network wait in these tests may take before the test
/// fails: generous, because a hang must fail, not because anything is slow.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// How quickly a connection fed bad input must close (DESIGN.md: "promptly").
pub(crate) const PROMPTLY: Duration = Duration::from_secs(1);

/// Awaits `future`, failing the test with `what` if it takes longer than `limit`.
pub(crate) async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// A body of `len` bytes whose content depends on `seed`, so a misplaced or
/// repeated byte shows.
pub(crate) fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(seed.wrapping_mul(7)) as u8
        })
        .collect()
}

/// An [`Echo`] connection over a fresh [`ScriptedStream`], with its script handle
/// and the reactor's log of inbound messages.
pub(crate) fn scripted_echo<C>(
    codec: C,
    config: ConnectionConfig,
) -> (Script, Connection<ScriptedStream, Echo<C>>, Log)
where
    C: BytesCodec,
{
    let (script, stream) = Script::new();
    let (sender, outbound) = config.outbound_channel();
    let reactor = Echo::new(sender);
    let log = reactor.log();
    let connection = Connection::new(stream, codec, reactor, Some(outbound), config);
    (script, connection, log)
}

/// A [`Sink`] connection over a [`ScriptedStream`].
pub(crate) type ScriptedSink<C> = Connection<ScriptedStream, Sink<C>>;

/// A [`Sink`] connection over a fresh [`ScriptedStream`]; the test holds the only
/// outbound sender.
pub(crate) fn scripted_sink<C>(
    codec: C,
    config: ConnectionConfig,
) -> (Script, ScriptedSink<C>, spillway::Sender<C::Carried>, Log)
where
    C: BytesCodec,
{
    let (script, stream) = Script::new();
    let (sender, outbound) = config.outbound_channel();
    let reactor = Sink::new();
    let log = reactor.log();
    let connection = Connection::new(stream, codec, reactor, Some(outbound), config);
    (script, connection, sender, log)
}

/// A body of `len` bytes (at least 4) numbered `seed`: cheap to make in bulk, and
/// a message out of order shows.
pub(crate) fn numbered(seed: u32, len: usize) -> Vec<u8> {
    let mut body = vec![seed as u8; len.max(4)];
    body[..4].copy_from_slice(&seed.to_be_bytes());
    body
}

/// Waits, yielding to other tasks, until `condition` holds; fails after [`TIMEOUT`].
/// For state another task publishes without a notification (counters).
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(TIMEOUT, what, async {
        while !condition() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}
