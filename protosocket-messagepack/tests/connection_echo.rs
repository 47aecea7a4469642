//! A protosocket Connection on a real socket echoes messagepack frames, and
//! refuses a frame announced over its `max_buffer_length` from the header alone.

mod support;

use protosocket::{CloseReason, Connection, ConnectionConfig, DecodeError, Decoder};
use protosocket_messagepack::MessagePackDecoder;
use support::{frame, items, within, Echo, Item};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A client connected to an echo `Connection` configured with `config`, and the
/// server task, which ends with the connection's close reason.
async fn connected(config: ConnectionConfig) -> (TcpStream, JoinHandle<Option<CloseReason>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let connect = TcpStream::connect(listener.local_addr().expect("address"));
    let (client, accepted) = within("connect", async {
        tokio::join!(connect, listener.accept())
    })
    .await;
    let (stream, _) = accepted.expect("accept");
    let (sender, outbound) = config.outbound_channel();
    let echo = Echo::<Item> { sender };
    let codec = protosocket_messagepack::codec();
    let mut connection = Connection::new(stream, codec, echo, Some(outbound), config);
    let server = tokio::spawn(async move {
        (&mut connection).await;
        connection.close_reason().cloned()
    });
    (client.expect("connect"), server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_echoes_frames_over_tcp() {
    let (mut client, server) = connected(ConnectionConfig::default()).await;
    let expected: Vec<Item> = (0..10u64)
        .flat_map(|round| {
            items().into_iter().map(move |mut item| {
                item.id = item.id.wrapping_add(round);
                item
            })
        })
        .collect();
    let wire: Vec<u8> = expected
        .iter()
        .flat_map(|item| frame(&rmp_serde::to_vec_named(item).unwrap()))
        .collect();
    // Write and read at once: the echoes (about 700 KB) may outgrow the socket
    // buffers before the writes finish.
    let (mut read, mut write) = client.split();
    let writing = async {
        write.write_all(&wire).await.expect("write");
    };
    let reading = async {
        let mut decoder = MessagePackDecoder::<Item>::new();
        let mut buffer = Vec::new();
        let mut echoed = Vec::new();
        while echoed.len() < expected.len() {
            match decoder.decode(&buffer) {
                Ok((used, item)) => {
                    echoed.push(item);
                    buffer.drain(..used);
                }
                Err(DecodeError::Incomplete { .. }) => {
                    let read = read.read_buf(&mut buffer).await.expect("read");
                    assert_ne!(read, 0, "the server closed early");
                }
                Err(error) => panic!("{error}"),
            }
        }
        echoed
    };
    let ((), echoed) = within("the echoes", async { tokio::join!(writing, reading) }).await;
    assert_eq!(echoed, expected);

    // Closing our side ends the server's connection.
    drop(client);
    let reason = within("the server connection to end", server).await;
    assert!(
        matches!(reason, Ok(Some(CloseReason::PeerClosed))),
        "{reason:?}"
    );
}

#[tokio::test]
async fn frame_over_max_buffer_length_closes_the_connection_from_its_header() {
    let (mut client, server) = connected(ConnectionConfig::default().max_buffer_length(1024)).await;
    // A 1020-byte body, 1025 bytes with its header: one over. The decoder has no
    // limit of its own; the connection refuses it without waiting for the body.
    let header = [0xCE, 0, 0, 0x03, 0xFC];
    within("write", client.write_all(&header))
        .await
        .expect("write");
    let reason = within("the server connection to end", server).await;
    assert!(
        matches!(
            reason,
            Ok(Some(CloseReason::FrameTooLarge {
                len: 1025,
                max: 1024
            }))
        ),
        "{reason:?}"
    );
}
