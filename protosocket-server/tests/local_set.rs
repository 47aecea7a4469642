//! A `!Send` reactor runs on a `LocalSet`: the connector spawns with `spawn_local`.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use protosocket::{spillway, Accepted, MessageReactor, PooledEncoder, ReactorStatus, Replies};
use protosocket_server::{
    ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
};
use support::{bounded, read_line, Lines};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Numbers the lines it echoes with a counter shared by every connection of the
/// thread: `Rc` makes it `!Send`.
struct Numbered {
    /// Kept so the connection stays open: answers go through replies.
    _outbound: spillway::Sender<Vec<u8>>,
    count: Rc<Cell<usize>>,
}

impl MessageReactor for Numbered {
    type Codec = (PooledEncoder<Lines>, Lines);
    type Inbound = Vec<u8>;
    type Outbound = Vec<u8>;
    type LogicalOutbound = Vec<u8>;

    fn on_inbound_message(
        &mut self,
        line: Vec<u8>,
        replies: &mut Replies<Vec<u8>>,
    ) -> ReactorStatus {
        self.count.set(self.count.get() + 1);
        let mut answer = format!("{} ", self.count.get()).into_bytes();
        answer.extend_from_slice(&line);
        replies.push(answer);
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, line: Vec<u8>) -> Vec<u8> {
        line
    }
}

struct LocalConnector {
    count: Rc<Cell<usize>>,
}

impl ServerConnector for LocalConnector {
    type Stream = TcpStream;
    type Reactor = Numbered;

    fn codec(&self) -> (PooledEncoder<Lines>, Lines) {
        Default::default()
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<Vec<u8>>,
        _: &Accepted<TcpStream>,
    ) -> Numbered {
        Numbered {
            _outbound: outbound,
            count: Rc::clone(&self.count),
        }
    }

    fn spawn_connection(&self, connection: ServedConnection<TcpStream, Numbered>) {
        tokio::task::spawn_local(connection);
    }
}

#[tokio::test]
async fn not_send_reactor_on_local_set() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let connector = LocalConnector {
                count: Rc::new(Cell::new(0)),
            };
            let server = ProtosocketServer::bind_tcp(
                "127.0.0.1:0".parse().unwrap(),
                connector,
                ProtosocketServerConfig::default(),
            )
            .expect("bind");
            let address = server.local_addr().expect("address");
            let handle = server.shutdown_handle();
            let running = tokio::task::spawn_local(server);

            for expected in ["1 x", "2 x"] {
                let mut stream = bounded("connect", TcpStream::connect(address))
                    .await
                    .expect("connect");
                bounded("write", stream.write_all(b"x\n"))
                    .await
                    .expect("write");
                let mut reader = BufReader::new(stream);
                assert_eq!(read_line(&mut reader).await.as_deref(), Some(expected));
            }

            bounded("shutdown", handle.shutdown_and_wait()).await;
            bounded("server future", running)
                .await
                .expect("server task");
        })
        .await;
}
