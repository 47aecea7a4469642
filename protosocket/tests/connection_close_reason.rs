//! Why a connection closed is typed and public: kept on the connection and
//! handed to the reactor once, whether it ended by itself or was dropped.

mod support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use protosocket::{
    CloseReason, Connection, ConnectionConfig, MessageReactor, ReactorStatus, Replies,
};
use support::{frame, lock, u32_codec, Driver, Read, Script, U32Codec};

/// Records the reasons `on_closed` is given.
#[derive(Default)]
struct Witness {
    closed: Arc<Mutex<Vec<String>>>,
}

impl MessageReactor for Witness {
    type Codec = U32Codec;
    type Inbound = Bytes;
    type Outbound = Bytes;
    type LogicalOutbound = Bytes;

    fn on_inbound_message(
        &mut self,
        message: Bytes,
        replies: &mut Replies<Bytes>,
    ) -> ReactorStatus {
        replies.push(message);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, message: Bytes) -> Bytes {
        message
    }

    fn on_closed(&mut self, reason: &CloseReason) {
        lock(&self.closed).push(reason.to_string());
    }
}

fn witnessed(
    config: ConnectionConfig,
) -> (
    Script,
    Connection<support::ScriptedStream, Witness>,
    Arc<Mutex<Vec<String>>>,
) {
    let (script, stream) = Script::new();
    let witness = Witness::default();
    let closed = Arc::clone(&witness.closed);
    (
        script,
        Connection::new(stream, u32_codec(), witness, None, config),
        closed,
    )
}

#[test]
fn a_frame_over_the_limit_closes_with_its_reason_told_once() {
    let (script, mut connection, closed) =
        witnessed(ConnectionConfig::default().max_buffer_length(1024));
    script.push_data((4096u32).to_be_bytes().to_vec());
    assert!(Driver::new().run_until_idle(&mut connection).is_ready());
    assert!(matches!(
        connection.close_reason(),
        Some(CloseReason::FrameTooLarge {
            len: 4100,
            max: 1024
        })
    ));
    assert!(connection.close_reason().is_some_and(CloseReason::is_error));
    drop(connection);
    assert_eq!(
        *lock(&closed),
        ["inbound frame of 4100 bytes is over the limit of 1024"],
        "told once, not again on drop"
    );
}

#[test]
fn an_io_error_closes_with_the_error() {
    let (script, mut connection, closed) = witnessed(ConnectionConfig::default());
    script.push(Read::Error(std::io::ErrorKind::ConnectionReset));
    assert!(Driver::new().run_until_idle(&mut connection).is_ready());
    match connection.close_reason() {
        Some(CloseReason::Io(error)) => {
            assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset)
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !connection.close_reason().is_some_and(CloseReason::is_error),
        "a reset is routine"
    );
    assert_eq!(lock(&closed).len(), 1);
}

#[test]
fn the_peer_closing_is_its_own_reason() {
    let (script, mut connection, _closed) = witnessed(ConnectionConfig::default());
    script.push_data(frame(b"last"));
    script.push(Read::Eof);
    assert!(Driver::new().run_until_idle(&mut connection).is_ready());
    assert!(matches!(
        connection.close_reason(),
        Some(CloseReason::PeerClosed)
    ));
    assert_eq!(script.written(), frame(b"last"), "answered before closing");
}

#[test]
fn dropping_an_unfinished_connection_tells_the_reactor() {
    let (script, mut connection, closed) = witnessed(ConnectionConfig::default());
    script.push_data(frame(b"x"));
    assert!(Driver::new().run_until_idle(&mut connection).is_pending());
    assert!(connection.close_reason().is_none(), "still running");
    drop(connection);
    assert_eq!(
        *lock(&closed),
        ["the connection was dropped before it finished"]
    );
}
