//! A protosocket Connection on a real socket echoes messagepack frames.

mod support;

use protosocket::{Connection, ConnectionConfig, DecodeError, Decoder};
use protosocket_messagepack::MessagePackDecoder;
use support::{frame, items, within, Echo, Item};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_echoes_frames_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let config = ConnectionConfig::default();
        let (sender, outbound) = config.outbound_channel();
        let codec = protosocket_messagepack::codec();
        Connection::new(
            stream,
            codec,
            Echo::<Item> { sender },
            Some(outbound),
            config,
        )
        .await;
    });

    let mut client = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    let mut expected = Vec::new();
    for round in 0..10u64 {
        for mut item in items() {
            item.id = item.id.wrapping_add(round);
            expected.push(item);
        }
    }
    let mut wire = Vec::new();
    for item in &expected {
        wire.extend_from_slice(&frame(&rmp_serde::to_vec_named(item).unwrap()));
    }
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
    within("the server connection to end", server)
        .await
        .expect("server task");
}
