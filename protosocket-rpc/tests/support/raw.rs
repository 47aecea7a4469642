//! A raw peer: the test writes and reads frames by hand, ids and codes only, as
//! an upstream 2.x peer would.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{encode, timed, Text, TextSerializer};

/// Reads one whole frame.
pub async fn read_message(stream: &mut tokio::net::TcpStream) -> Text {
    let len = timed(stream.read_u32()).await.unwrap() as usize;
    let mut frame = vec![0; len];
    timed(stream.read_exact(&mut frame)).await.unwrap();
    let mut buffer = (len as u32).to_be_bytes().to_vec();
    buffer.extend_from_slice(&frame);
    protosocket::Decoder::decode(&mut TextSerializer, &buffer)
        .unwrap()
        .1
}

/// A raw connection to the server.
pub async fn raw(address: std::net::SocketAddr) -> tokio::net::TcpStream {
    timed(tokio::net::TcpStream::connect(address))
        .await
        .unwrap()
}

/// Writes one frame with a raw control code.
pub async fn send(stream: &mut tokio::net::TcpStream, id: u64, code: u32, text: &str) {
    let frame = encode(Text {
        id,
        code,
        text: text.into(),
    });
    timed(stream.write_all(&frame)).await.unwrap();
}
