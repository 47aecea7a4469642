//! A `!Send` reactor runs on a `LocalSet`: the connector spawns with `spawn_local`.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use protosocket::{spillway, Accepted, LinesCodec, MessageReactor, ReactorStatus, Replies};
use protosocket_server::{
    ProtosocketServer, ProtosocketServerConfig, ServedConnection, ServerConnector,
};
use support::{bounded, read_line};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Numbers the lines it echoes with a counter shared by every connection of the
/// thread: `Rc` makes it `!Send`.
struct Numbered {
    /// Kept so the connection stays open: answers go through replies.
    _outbound: spillway::Sender<String>,
    count: Rc<Cell<usize>>,
}

impl MessageReactor for Numbered {
    type Codec = LinesCodec;
    type Inbound = String;
    type Outbound = String;
    type LogicalOutbound = String;

    fn on_inbound_message(&mut self, line: String, replies: &mut Replies<String>) -> ReactorStatus {
        self.count.set(self.count.get() + 1);
        replies.push(format!("{} {line}", self.count.get()));
        ReactorStatus::Continue
    }

    fn on_outbound_message(&mut self, line: String) -> String {
        line
    }
}

struct LocalConnector {
    count: Rc<Cell<usize>>,
}

impl ServerConnector for LocalConnector {
    type Stream = TcpStream;
    type Reactor = Numbered;

    fn codec(&self) -> LinesCodec {
        LinesCodec::new()
    }

    fn new_reactor(
        &self,
        outbound: spillway::Sender<String>,
        _: &Accepted<TcpStream>,
        _: &std::sync::Arc<protosocket::ConnectionStats>,
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
