//! A protosocket Connection on a real socket echoes prost frames.

mod support;

use bytes::BytesMut;
use prost::Message;
use protosocket::{Connection, ConnectionConfig, DecodeError, Decoder};
use protosocket_prost::ProstDecoder;
use support::{items, within, Echo, Item};
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
        let codec = protosocket_prost::codec();
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
    for round in 0..20u64 {
        for mut item in items() {
            item.id = item.id.wrapping_add(round);
            expected.push(item);
        }
    }
    let mut wire = Vec::new();
    for item in &expected {
        item.encode_length_delimited(&mut wire).unwrap();
    }
    within("write", client.write_all(&wire))
        .await
        .expect("write");

    let mut decoder = ProstDecoder::<Item>::new();
    let mut buffer = BytesMut::with_capacity(4096);
    let mut echoed = Vec::new();
    while echoed.len() < expected.len() {
        match decoder.decode_buffer(&mut buffer) {
            Ok(item) => echoed.push(item),
            Err(DecodeError::Incomplete { .. }) => {
                let read = within("an echo", client.read_buf(&mut buffer))
                    .await
                    .expect("read");
                assert_ne!(read, 0, "the server closed early");
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(echoed, expected);

    // Closing our side ends the server's connection.
    drop(client);
    within("the server connection to end", server)
        .await
        .expect("server task");
}
