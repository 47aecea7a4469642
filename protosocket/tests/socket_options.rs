//! `SocketOptions` are applied for real: read back from the kernel with
//! `socket2::SockRef` on listeners, accepted streams and connected streams; and
//! a Unix listener's accepted stream names its peer as `PeerAddress::Unix`.

mod support;

use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::Duration;

use protosocket::{
    Accepted, Connection, ConnectionConfig, Keepalive, Listener, PeerAddress, SocketOptions,
    TcpListener,
};
use socket2::SockRef;
use support::{u32_codec, within, Echo, U32Codec, TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);
/// Below `net.core.{r,w}mem_max`, so the kernel honours them (and doubles them).
const SEND_BUFFER: usize = 96 * 1024;
const RECEIVE_BUFFER: usize = 160 * 1024;

async fn accept<L: Listener>(listener: &mut L) -> Accepted<L::Stream> {
    within(TIMEOUT, "accept", poll_fn(|cx| listener.poll_accept(cx)))
        .await
        .expect("accept")
}

#[tokio::test]
async fn bind_tcp_applies_listener_options() {
    let options = SocketOptions::default()
        .reuse_address(true)
        .reuse_port(true)
        .send_buffer_size(Some(SEND_BUFFER))
        .receive_buffer_size(Some(RECEIVE_BUFFER));
    let listener = options.bind_tcp(LOOPBACK).expect("bind");
    let socket = SockRef::from(&listener);
    assert!(socket.reuse_address().unwrap());
    assert!(socket.reuse_port().unwrap());
    // Linux doubles the requested size for its bookkeeping.
    assert!(socket.send_buffer_size().unwrap() >= SEND_BUFFER);
    assert!(socket.recv_buffer_size().unwrap() >= RECEIVE_BUFFER);

    // reuse_port for real: a second listener shares the port.
    let port = listener.local_addr().unwrap();
    let second = options
        .bind_tcp(port)
        .expect("a second listener on the port");
    assert_eq!(second.local_addr().unwrap(), port);

    let off = SocketOptions::default()
        .reuse_address(false)
        .reuse_port(false);
    let listener = off.bind_tcp(LOOPBACK).expect("bind");
    let socket = SockRef::from(&listener);
    assert!(!socket.reuse_address().unwrap());
    assert!(!socket.reuse_port().unwrap());
    assert!(
        off.bind_tcp(listener.local_addr().unwrap()).is_err(),
        "without reuse_port the port is taken"
    );
}

#[tokio::test]
async fn accepted_streams_carry_the_connection_options() {
    let options = SocketOptions::default()
        .nodelay(true)
        .keepalive(Some(Keepalive {
            idle: Duration::from_secs(42),
            interval: Duration::from_secs(3),
            retries: 7,
        }))
        .user_timeout(Some(Duration::from_secs(9)))
        .send_buffer_size(Some(SEND_BUFFER))
        .receive_buffer_size(Some(RECEIVE_BUFFER));
    let mut listener = TcpListener::bind(LOOPBACK, options).expect("bind");
    let client = within(
        TIMEOUT,
        "connect",
        tokio::net::TcpStream::connect(listener.local_addr().unwrap()),
    )
    .await
    .unwrap();
    let accepted = accept(&mut listener).await;
    assert_eq!(
        accepted.peer,
        PeerAddress::Tcp(client.local_addr().unwrap())
    );
    let socket = SockRef::from(&accepted.stream);
    assert!(socket.tcp_nodelay().unwrap());
    assert!(socket.keepalive().unwrap());
    assert_eq!(
        socket.tcp_keepalive_time().unwrap(),
        Duration::from_secs(42)
    );
    assert_eq!(
        socket.tcp_keepalive_interval().unwrap(),
        Duration::from_secs(3)
    );
    assert_eq!(socket.tcp_keepalive_retries().unwrap(), 7);
    assert_eq!(
        socket.tcp_user_timeout().unwrap(),
        Some(Duration::from_secs(9))
    );
    assert!(socket.send_buffer_size().unwrap() >= SEND_BUFFER);
    assert!(socket.recv_buffer_size().unwrap() >= RECEIVE_BUFFER);

    let plain = SocketOptions::default().nodelay(false).keepalive(None);
    let mut listener = TcpListener::bind(LOOPBACK, plain).expect("bind");
    let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let accepted = accept(&mut listener).await;
    let socket = SockRef::from(&accepted.stream);
    assert!(!socket.tcp_nodelay().unwrap());
    assert!(!socket.keepalive().unwrap());
}

#[tokio::test]
async fn connect_tcp_applies_the_connection_options() {
    let listener = tokio::net::TcpListener::bind(LOOPBACK).await.unwrap();
    let options = SocketOptions::default()
        .nodelay(true)
        .keepalive(Some(Keepalive::after(Duration::from_secs(77))))
        .receive_buffer_size(Some(RECEIVE_BUFFER));
    let stream = within(
        TIMEOUT,
        "connect",
        options.connect_tcp(listener.local_addr().unwrap()),
    )
    .await
    .expect("connect");
    let socket = SockRef::from(&stream);
    assert!(socket.tcp_nodelay().unwrap());
    assert!(socket.keepalive().unwrap());
    assert_eq!(
        socket.tcp_keepalive_time().unwrap(),
        Duration::from_secs(77)
    );
    assert!(socket.recv_buffer_size().unwrap() >= RECEIVE_BUFFER);
}

/// A socket path unique to this test run, removed when dropped.
struct TempPath(std::path::PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let file = format!("protosocket-{name}-{}-{nanos}.sock", std::process::id());
        Self(std::env::temp_dir().join(file))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn unix_listener_accept_carries_a_unix_peer_address() {
    use protosocket::UnixListener;

    let path = TempPath::new("listener");
    let mut listener = UnixListener::bind(&path.0).expect("bind");

    // A client that bound no path of its own.
    let mut unnamed = within(TIMEOUT, "connect", tokio::net::UnixStream::connect(&path.0))
        .await
        .unwrap();
    let accepted = accept(&mut listener).await;
    assert_eq!(accepted.peer, PeerAddress::Unix(None));
    assert_eq!(accepted.peer.to_string(), "unix:(unnamed)");

    // The accepted stream carries a connection like any other.
    let config = ConnectionConfig::default();
    let (sender, outbound) = config.outbound_channel();
    let connection = Connection::new(
        accepted.stream,
        u32_codec(),
        Echo::<U32Codec>::new(sender),
        Some(outbound),
        config,
    );
    let task = tokio::spawn(connection);
    unnamed
        .write_all(&support::frame(b"over unix"))
        .await
        .unwrap();
    let mut reply = vec![0; 4 + 9];
    within(TIMEOUT, "the echo", unnamed.read_exact(&mut reply))
        .await
        .unwrap();
    assert_eq!(reply, support::frame(b"over unix"));
    drop(unnamed);
    within(TIMEOUT, "the connection to end", task)
        .await
        .unwrap();

    // A client bound to a path of its own is named by it.
    let client_path = TempPath::new("client");
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&socket2::SockAddr::unix(&client_path.0).unwrap())
        .unwrap();
    socket
        .connect(&socket2::SockAddr::unix(&path.0).unwrap())
        .unwrap();
    let accepted = accept(&mut listener).await;
    assert_eq!(
        accepted.peer,
        PeerAddress::Unix(Some(client_path.0.clone()))
    );
    drop(socket);
}
