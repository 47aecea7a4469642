//! A client with nothing but a TCP socket and prost, for peers that misbehave.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use example_proto::{Request, Response};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::timed;

/// How soon an offender must be cut off.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// A plain TCP connection to `address`.
pub async fn connect(address: SocketAddr) -> TcpStream {
    let stream = timed(TcpStream::connect(address)).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// `requests`, each varint length-delimited, in one buffer.
pub fn frames(requests: &[Request]) -> Vec<u8> {
    let mut wire = Vec::new();
    for request in requests {
        request.encode_length_delimited(&mut wire).expect("encode");
    }
    wire
}

/// Writes all of `bytes`, bounded by the tests' wait.
pub async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    timed(stream.write_all(bytes)).await.expect("write");
}

/// Reads one varint length-delimited `Response`, keeping any bytes after it in
/// `buffer`.
pub async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Response {
    timed(read_message(stream, buffer))
        .await
        .expect("the server closed the connection")
}

/// Reads one varint length-delimited message of type `M`, keeping any bytes
/// after it in `buffer`; `None` at EOF or on a read error. Unbounded: bound it
/// with [`timed`] where the peer must answer.
pub async fn read_message<M: Message + Default>(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<M> {
    loop {
        let mut view = &buffer[..];
        if let Ok(len) = prost::decode_length_delimiter(&mut view) {
            let prefix = buffer.len() - view.len();
            if buffer.len() >= prefix + len {
                let message = M::decode(&buffer[prefix..prefix + len]).expect("a valid frame");
                buffer.drain(..prefix + len);
                return Some(message);
            }
        }
        let mut chunk = [0u8; 64 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Waits at most [`CLOSE_WITHIN`] for the server to close `stream` (EOF or
/// reset) and returns what it sent before closing.
pub async fn closed_by_server(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let outcome = tokio::time::timeout(CLOSE_WITHIN, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => return Ok(()),
                Ok(read) => received.extend_from_slice(&chunk[..read]),
                Err(error) => return Err(error),
            }
        }
    })
    .await;
    match outcome {
        Err(_) => panic!("the server did not close the connection within {CLOSE_WITHIN:?}"),
        Ok(Ok(())) => {}
        Ok(Err(error)) => assert!(is_reset(&error), "unexpected read error: {error}"),
    }
    received
}

/// Whether `error` is the peer resetting or having closed the connection.
pub fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// As [`connect`], with the socket's receive buffer set to `bytes` before
/// connecting, so that a peer that stops reading stalls the server's writes soon.
pub async fn connect_with_small_window(address: SocketAddr, bytes: u32) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
    let stream = timed(socket.connect(address)).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
}
