//! A plain tokio client speaking [`U32Codec`](super::U32Codec) frames,
//! every wait bounded.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{frame, within, TIMEOUT};

#[derive(Debug)]
pub(crate) struct Client {
    stream: TcpStream,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let stream = within(TIMEOUT, "connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        Self { stream }
    }

    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub(crate) fn into_stream(self) -> TcpStream {
        self.stream
    }

    /// Writes `bytes` as they are.
    pub(crate) async fn write_raw(&mut self, bytes: &[u8]) {
        within(TIMEOUT, "write", self.stream.write_all(bytes))
            .await
            .expect("write");
    }

    /// Writes `bytes` for a peer that may close first: a reset or broken pipe
    /// ends the write quietly (what was not sent is moot), anything else fails.
    pub(crate) async fn write_raw_until_closed(&mut self, bytes: &[u8]) {
        match within(TIMEOUT, "write", self.stream.write_all(bytes)).await {
            Ok(()) => {}
            Err(error) if is_reset(&error) => {}
            Err(error) => panic!("write: {error}"),
        }
    }

    /// Writes one frame.
    pub(crate) async fn send(&mut self, body: &[u8]) {
        self.write_raw(&frame(body)).await;
    }

    /// Reads one frame's body.
    pub(crate) async fn recv(&mut self) -> Vec<u8> {
        within(TIMEOUT, "a reply", read_frame(&mut self.stream))
            .await
            .expect("read a frame")
    }

    pub(crate) async fn round_trip(&mut self, body: &[u8]) -> Vec<u8> {
        self.send(body).await;
        self.recv().await
    }

    /// Shuts the write half down: the server reads EOF.
    pub(crate) async fn shutdown_write(&mut self) {
        within(TIMEOUT, "shutdown", self.stream.shutdown())
            .await
            .expect("shutdown");
    }

    /// Reads until the server closes (EOF or reset), failing after `limit`;
    /// anything the server sent first is discarded.
    pub(crate) async fn expect_closed(&mut self, limit: Duration) {
        let mut sink = vec![0; 64 * 1024];
        within(limit, "the server to close the connection", async {
            loop {
                match self.stream.read(&mut sink).await {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(error) if is_reset(&error) => return,
                    Err(error) => panic!("unexpected error waiting for close: {error}"),
                }
            }
        })
        .await;
    }

    /// Reads to EOF, failing after [`TIMEOUT`]: asserts nothing more than a clean end.
    pub(crate) async fn expect_eof(&mut self) {
        let mut byte = [0; 1];
        let n = within(TIMEOUT, "EOF", self.stream.read(&mut byte))
            .await
            .expect("read EOF");
        assert_eq!(n, 0, "expected EOF, got more bytes");
    }
}

/// Reads one [`U32Codec`](super::U32Codec) frame's body.
pub(crate) async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut prefix = [0; 4];
    reader.read_exact(&mut prefix).await?;
    let mut body = vec![0; u32::from_be_bytes(prefix) as usize];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
