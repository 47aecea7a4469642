//! A tiny accept loop on 127.0.0.1:0 that runs one `Connection` task per accepted
//! stream: just enough server for the loopback tests.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protosocket::{
    Connection, ConnectionConfig, ConnectionStats, Encoder, Listener, MessageReactor, PeerAddress,
    SocketOptions, TcpListener,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{u32_codec, within, Echo, U32Codec, TIMEOUT};

/// The server's view of one accepted connection.
#[derive(Debug)]
pub(crate) struct ServerSide {
    /// The connection's counters.
    pub(crate) stats: Arc<ConnectionStats>,
    /// Who connected.
    pub(crate) peer: PeerAddress,
    ended: oneshot::Receiver<()>,
}

impl ServerSide {
    /// Waits for the connection's future to complete.
    pub(crate) async fn ended_within(&mut self, limit: Duration, what: &str) {
        // A dropped sender means the task is gone as well.
        let _ = within(limit, what, &mut self.ended).await;
    }

    /// Whether the connection's future has completed.
    pub(crate) fn has_ended(&mut self) -> bool {
        !matches!(
            self.ended.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        )
    }
}

/// A listening server; dropping it stops accepting (running connections go on).
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<ServerSide>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Accepts on 127.0.0.1:0 with `options`; each connection gets the codec and
    /// reactor that `make` builds around the connection's outbound sender.
    pub(crate) fn start<R, F>(config: ConnectionConfig, options: SocketOptions, mut make: F) -> Self
    where
        R: MessageReactor + Send + 'static,
        R::Codec: Send + 'static,
        <R::Codec as Encoder>::Serialized: Send,
        R::LogicalOutbound: Send + 'static,
        F: FnMut(spillway::Sender<R::LogicalOutbound>) -> (R::Codec, R) + Send + 'static,
    {
        let address = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut listener = TcpListener::bind(address, options).expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (report, accepted) = mpsc::unbounded_channel();
        let accept = tokio::spawn(async move {
            loop {
                let stream = match poll_fn(|cx| listener.poll_accept(cx)).await {
                    Ok(stream) => stream,
                    // Transient (EMFILE, ECONNABORTED): accept again.
                    Err(_) => continue,
                };
                let (sender, outbound) = config.outbound_channel();
                let (codec, reactor) = make(sender);
                let connection = Connection::new(
                    stream.stream,
                    codec,
                    reactor,
                    Some(outbound),
                    config.clone(),
                );
                let (done, ended) = oneshot::channel();
                let side = ServerSide {
                    stats: connection.stats(),
                    peer: stream.peer,
                    ended,
                };
                if report.send(side).is_err() {
                    return;
                }
                tokio::spawn(async move {
                    connection.await;
                    let _ = done.send(());
                });
            }
        });
        Self {
            addr,
            accepted,
            accept,
        }
    }

    /// An echo server over [`U32Codec`](super::U32Codec) frames.
    pub(crate) fn echo(config: ConnectionConfig) -> Self {
        Self::start(config, SocketOptions::default(), |sender| {
            (u32_codec(), Echo::<U32Codec>::new(sender))
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next accepted connection, in accept order.
    pub(crate) async fn next(&mut self) -> ServerSide {
        within(TIMEOUT, "the server to accept", self.accepted.recv())
            .await
            .expect("the accept loop stopped")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
