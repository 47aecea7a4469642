//! A client that stops reading a long stream: the server's send queue for it stays
//! at its bound and the stream's work pauses (server memory bounded), other
//! clients are served meanwhile, and the reader later gets every item in order.
mod support;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use protosocket::{ConnectionStats, Decoder, SocketOptions};
use protosocket_rpc::client::RpcClientConfig;
use protosocket_rpc::server::{
    ConnectionInfo, ProtosocketServerConfig, RpcServer, RpcServerConfig, SocketService, TokioSpawn,
};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ITEMS: usize = 200_000;
const QUEUE: usize = 64;

/// The test service, keeping each connection's counters.
#[derive(Clone, Default)]
struct StatsService {
    inner: TestService,
    stats: Arc<Mutex<Vec<Arc<ConnectionStats>>>>,
}

impl StatsService {
    fn connection(&self, index: usize) -> Option<Arc<ConnectionStats>> {
        let stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.get(index).cloned()
    }
}

impl SocketService for StatsService {
    type Codec = TextCodec;
    type ConnectionService = TestService;

    fn codec(&self) -> TextCodec {
        codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> TestService {
        let mut all = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        all.push(Arc::clone(connection.stats()));
        self.inner.clone()
    }
}

/// Polls `condition` every few milliseconds until it holds; fails after [`WAIT`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not within {WAIT:?}: {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_reader_keeps_the_server_queue_bounded_and_gets_everything() {
    let service = StatsService::default();
    let server_config = RpcServerConfig::default().server_config(
        ProtosocketServerConfig::default()
            .connection_config(
                ProtosocketServerConfig::default_connection_config()
                    .max_queued_outbound_messages(QUEUE),
            )
            // Small kernel buffers, so the server's own queue is what fills up.
            .socket_options(SocketOptions::default().send_buffer_size(Some(16 * 1024))),
    );
    let server: RpcServer<protosocket::EndpointListener, StatsService, TokioSpawn> =
        RpcServer::bind(
            "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
            service.clone(),
            server_config,
        )
        .expect("bind");
    let address = tcp_address(server.local_endpoint());
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);

    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    let mut reader = timed(socket.connect(address)).await.expect("connect");
    let request = Text {
        id: 7,
        code: 0,
        text: format!("stream:{ITEMS}"),
    };
    timed(reader.write_all(&encode(request)))
        .await
        .expect("send");

    wait_until("the server opened the reader's connection", || {
        service.connection(0).is_some()
    })
    .await;
    let stats = service.connection(0).expect("reader's stats");
    wait_until("the reader's send queue filled", || {
        stats.send_queue_depth() == QUEUE as u64
    })
    .await;

    // Stalled: the queue stays at its bound and the stream's work stays paused,
    // while another client is served call after call.
    let other = client(address, &RpcClientConfig::default()).await;
    for i in 0..50 {
        let answer = timed(other.send_unary(Text::new(format!("echo:{i}")))).await;
        assert_eq!(answer.expect("answered").text, i.to_string());
        let depth = stats.send_queue_depth();
        assert!(depth <= QUEUE as u64, "send queue at {depth}, over {QUEUE}");
    }
    let produced = stats.messages_sent() + stats.send_queue_depth();
    assert!(
        produced < ITEMS as u64 / 10,
        "{produced} of {ITEMS} items made for a reader that reads nothing"
    );

    // Now read it all: every item in order, then End.
    let mut decoder = codec().1;
    let mut buffer = Vec::new();
    let mut next = 0usize;
    let ended = timed(async {
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let read = reader.read(&mut chunk).await.expect("read");
            assert_ne!(read, 0, "closed after {next} items");
            buffer.extend_from_slice(&chunk[..read]);
            let mut at = 0;
            while let Ok((used, item)) = decoder.decode(&buffer[at..]) {
                at += used;
                assert_eq!(item.id, 7);
                if item.code == 2 {
                    return at == buffer.len();
                }
                assert_eq!(item.code, 0, "cancelled after {next} items");
                assert_eq!(item.text, next.to_string(), "out of order");
                next += 1;
            }
            buffer.drain(..at);
        }
    })
    .await;
    assert!(ended, "bytes after End");
    assert_eq!(next, ITEMS);
    assert_eq!(stats.send_queue_depth(), 0);

    timed(shutdown.shutdown_and_wait()).await;
}
