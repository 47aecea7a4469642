//! What a unary call costs the client, and the server, in heap allocations, in
//! steady state, with a `Bytes` payload (so decoding shares the receive buffer
//! instead of copying it). The client and its connection run on this test's
//! thread, the server on a thread of its own, and each thread's allocations are
//! counted apart.
//!
//! A call's id and outcome live in a cell the connection reuses (`client/cell.rs`),
//! the request is encoded into pooled buffers and the response decoded from the
//! receive buffer, so once warm a call allocates nothing; on the server, each rpc
//! slot keeps a pinned place for its work from one rpc to the next. This test
//! keeps both at zero, with authentication on too, and a call through an
//! `RpcPool` at what a call on its `RpcClient` costs (the pool keeps no copy
//! of a request).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use protosocket_prost::ProstCodec;
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig, RpcPool};
use protosocket_rpc::server::{
    AuthHook, AuthRequest, ConnectionInfo, ConnectionService, Rpc, RpcServer, RpcServerConfig,
    SocketService,
};
use protosocket_rpc::{ControlCode, Message, Metadata};

/// Counts allocations made by the client's and the server's thread, on top of
/// the system allocator.
struct Counting;

/// Whose allocations a thread's are: nobody's, the client's or the server's.
const NOBODY: usize = 0;
const CLIENT: usize = 1;
const SERVER: usize = 2;

thread_local! {
    static ROLE: Cell<usize> = const { Cell::new(NOBODY) };
}

static ALLOCATIONS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

fn count() {
    // `try_with`: allocations during thread teardown are not ours to count.
    if let Ok(role) = ROLE.try_with(Cell::get) {
        ALLOCATIONS[role].fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counting touches only a const-initialised
// thread-local without a destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `alloc`/`realloc` above with `layout`.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations(role: usize) -> u64 {
    ALLOCATIONS[role].load(Ordering::Relaxed)
}

/// A request or response: id, control code, and an opaque body.
#[derive(Clone, PartialEq, prost::Message)]
struct Blob {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint32, tag = "2")]
    code: u32,
    #[prost(bytes = "bytes", tag = "3")]
    body: Bytes,
    /// Empty but in the `own_note` runs: a string of the caller's own.
    #[prost(string, tag = "4")]
    note: String,
}

impl Message for Blob {
    fn message_id(&self) -> u64 {
        self.id
    }
    fn set_message_id(&mut self, id: u64) {
        self.id = id;
    }
    fn control_code(&self) -> ControlCode {
        ControlCode::from_u32(self.code)
    }
    fn control(id: u64, code: ControlCode) -> Self {
        Blob {
            id,
            code: code as u32,
            body: Bytes::new(),
            note: String::new(),
        }
    }
    fn cancelled(id: u64) -> Self {
        Self::control(id, ControlCode::Cancel)
    }
    fn ended(id: u64) -> Self {
        Self::control(id, ControlCode::End)
    }
}

struct Echo;

impl ConnectionService for Echo {
    type Request = Blob;
    type Response = Blob;
    type Unary = Ready<Blob>;
    type Streaming = futures::stream::Empty<Blob>;

    fn new_rpc(&mut self, request: Blob) -> Rpc<Self::Unary, Self::Streaming> {
        Rpc::Unary(ready(request))
    }
}

struct EchoService;

impl SocketService for EchoService {
    type Codec = ProstCodec<Blob, Blob>;
    type ConnectionService = Echo;

    fn codec(&self) -> Self::Codec {
        protosocket_prost::codec()
    }
    fn new_connection_service(&self, _: &ConnectionInfo<'_>) -> Echo {
        Echo
    }
}

/// Allocations per call on the client's thread once warm. Before call cells it
/// was 2.00: the call's `tokio::sync::oneshot` (112 bytes) and its id, an
/// `Arc<AtomicU64>` (24 bytes).
const CLIENT_CEILING: f64 = 0.0;
/// Allocations per call on the server's thread once warm. Before rpc slots kept
/// their places it was 1.00: the boxed unary future.
const SERVER_CEILING: f64 = 0.0;
const WARM_UP: u64 = 2_000;
const MEASURED: u64 = 2_000;

/// What the auth hook of the authenticated run knows of a connection.
struct Peer;

/// How the measured calls are made.
#[derive(Clone, Copy)]
struct Calls {
    /// The server authenticates each connection once (an [`AuthHook`]) and
    /// every call carries the connection's auth context; the client sends
    /// credentials on its first call.
    auth: bool,
    /// Through an [`RpcPool`] of one connection instead of an [`RpcClient`].
    pooled: bool,
    /// Each request carries a string of its own (one allocation, the
    /// caller's; its echo is a second, the client decoding it): a copy of the
    /// request anywhere on the way (a pool keeping one for a retry) would show
    /// as a third.
    own_note: bool,
}

/// Allocations per warm unary call on the client's and the server's thread.
fn measure(calls: Calls) -> (f64, f64) {
    let Calls {
        auth,
        pooled,
        own_note,
    } = calls;
    let (server_config, client_config) = if auth {
        let hook = AuthHook::new(|_: &AuthRequest<'_>| Ok(Peer));
        let mut credentials = Metadata::new();
        credentials.insert("token", "secret");
        (
            RpcServerConfig::default().auth_hook(Some(hook)),
            RpcClientConfig::default().credentials(Some(credentials)),
        )
    } else {
        (RpcServerConfig::default(), RpcClientConfig::default())
    };
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        ROLE.with(|role| role.set(SERVER));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let server = RpcServer::bind(
                "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
                EchoService,
                server_config,
            )
            .expect("bind");
            address_tx
                .send(server.local_endpoint().expect("endpoint"))
                .expect("send the endpoint");
            let shutdown = server.shutdown_handle();
            let running = tokio::spawn(server);
            let _ = stop_rx.await;
            shutdown.shutdown_and_wait().await;
            let _ = running.await;
        });
    });
    let endpoint = address_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the server's endpoint");

    ROLE.with(|role| role.set(CLIENT));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let (client_per_call, server_per_call) = runtime.block_on(async move {
        let caller = if pooled {
            Caller::Pool(RpcPool::new(
                [endpoint],
                protosocket_prost::codec,
                client_config,
                PoolConfig::default().connections(1),
            ))
        } else {
            Caller::Client(
                tokio::time::timeout(
                    Duration::from_secs(10),
                    RpcClient::connect(endpoint, protosocket_prost::codec(), &client_config),
                )
                .await
                .expect("connect in time")
                .expect("connect"),
            )
        };
        let body = Bytes::from_static(&[7; 64]);
        let client = caller;
        let request = || Blob {
            id: 0,
            code: 0,
            body: body.clone(),
            note: if own_note {
                "a note of the caller's".to_string()
            } else {
                String::new()
            },
        };
        let call = || tokio::time::timeout(Duration::from_secs(10), client.call(request()));
        for _ in 0..WARM_UP {
            let response = call().await.expect("in time").expect("answer");
            assert_eq!(response.body, body);
        }
        let before = (allocations(CLIENT), allocations(SERVER));
        for _ in 0..MEASURED {
            let response = call().await.expect("in time").expect("answer");
            assert_eq!(response.body.len(), body.len());
        }
        // Each call was answered before the next was made, so the server's work
        // for the measured calls is done.
        let after = (allocations(CLIENT), allocations(SERVER));
        (
            (after.0 - before.0) as f64 / MEASURED as f64,
            (after.1 - before.1) as f64 / MEASURED as f64,
        )
    });
    ROLE.with(|role| role.set(NOBODY));
    let _ = stop_tx.send(());
    server.join().expect("server thread");
    (client_per_call, server_per_call)
}

/// An [`RpcClient`] or an [`RpcPool`].
enum Caller {
    Client(RpcClient<Blob, Blob>),
    Pool(RpcPool<Blob, Blob, ProstCodec<Blob, Blob>>),
}

impl Caller {
    async fn call(&self, request: Blob) -> Result<Blob, protosocket_rpc::Error> {
        match self {
            Caller::Client(client) => client.send_unary(request).await,
            Caller::Pool(pool) => pool.send_unary(request).await,
        }
    }
}

const PLAIN: Calls = Calls {
    auth: false,
    pooled: false,
    own_note: false,
};

#[test]
fn a_warm_unary_call_allocates_nothing_on_either_side() {
    let (client_per_call, server_per_call) = measure(PLAIN);
    println!(
        "allocations per unary call: client {client_per_call:.2}, server {server_per_call:.2}"
    );
    assert!(
        client_per_call <= CLIENT_CEILING,
        "client: {client_per_call:.2} allocations per call, over {CLIENT_CEILING}"
    );
    assert!(
        server_per_call <= SERVER_CEILING,
        "server: {server_per_call:.2} allocations per call, over {SERVER_CEILING}"
    );

    // Authenticated once per connection, a call costs the same: the auth
    // context is shared, not made per call.
    let (client_auth, server_auth) = measure(Calls {
        auth: true,
        ..PLAIN
    });
    println!(
        "allocations per unary call with auth: client {client_auth:.2}, server {server_auth:.2}"
    );
    assert_eq!(
        (client_auth, server_auth),
        (client_per_call, server_per_call),
        "auth on costs a call no allocation"
    );

    // (In this one test: the counters are the process's, so two tests would
    // count each other's calls.) A pool call costs what a client call does;
    // with a string of the caller's own in each request, a pool that copied
    // requests (to retry them, as it did before it took refused requests
    // back from the connection) would allocate the copy's too.
    let own = Calls {
        own_note: true,
        ..PLAIN
    };
    let (client, _) = measure(own);
    let (pooled, _) = measure(Calls {
        pooled: true,
        ..own
    });
    println!("allocations per call with a string of its own: client {client:.2}, pool {pooled:.2}");
    assert_eq!(
        pooled, client,
        "a pool call allocates what a client call does"
    );
    assert_eq!(client, 2.0, "the caller's string and its decoded echo");
}
