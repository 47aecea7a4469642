//! What the generated-service tests share: the generated `shapes` package,
//! the tests' implementation of it, a server on loopback and a bound on every
//! wait.

#![allow(dead_code, unreachable_pub)]

use std::future::{pending, Future};
use std::time::Duration;

use futures::{Stream, StreamExt};
use protosocket_rpc::client::{PoolConfig, RpcClient, RpcClientConfig};
use protosocket_rpc::server::{CallContext, ConnectionInfo, SocketService};
use protosocket_rpc::{Error, Requests, Status, StatusCode};
use tokio::sync::mpsc;

// Generated code used by a test crate: not every item is used, and `pub` goes
// nowhere.
#[allow(unreachable_pub, dead_code)]
pub mod shapes {
    include!(concat!(env!("OUT_DIR"), "/shapes.rs"));
}

use shapes::{
    Corner, Empty, Mixed, Name, Plain, ShapesClient, ShapesConnection, ShapesRequest,
    ShapesResponse, ShapesServer, Sides,
};

/// The longest any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// The status code of a call's outcome, if it failed with one.
pub fn status_code<T>(outcome: &Result<T, Error>) -> Option<StatusCode> {
    outcome
        .as_ref()
        .err()
        .and_then(protosocket_rpc::derive_support::error_status)
        .map(|status| status.code())
}

/// `future`, or a panic naming `what` once [`WAIT`] has passed.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {WAIT:?}"))
}

/// The tests' implementation of the generated trait. Its streaming-input
/// handlers report what they do: "total read" for each request read, "total
/// dropped" and "mirror dropped" when their work is dropped (finished or
/// cancelled).
#[derive(Clone)]
pub struct Polygons {
    dropped: mpsc::UnboundedSender<&'static str>,
}

impl Default for Polygons {
    fn default() -> Self {
        Self::watched().0
    }
}

impl Polygons {
    /// A service, and what its streaming-input handlers report.
    pub fn watched() -> (Self, mpsc::UnboundedReceiver<&'static str>) {
        let (dropped, names) = mpsc::unbounded_channel();
        (Self { dropped }, names)
    }

    fn guard(&self, name: &'static str) -> DropGuard {
        DropGuard(self.dropped.clone(), name)
    }
}

/// Reports its name when dropped.
struct DropGuard(mpsc::UnboundedSender<&'static str>, &'static str);

impl Drop for DropGuard {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

impl shapes::Shapes for Polygons {
    async fn name(&self, request: Sides, _context: &mut CallContext) -> Result<Name, Status> {
        let name = match request.count {
            0..=2 => return Err(Status::invalid_argument("a polygon has at least 3 sides")),
            3 => "triangle".to_owned(),
            4 => "square".to_owned(),
            sides => format!("{sides}-gon"),
        };
        Ok(Name { name })
    }

    fn corners(
        &self,
        request: Sides,
        _context: &mut CallContext,
    ) -> impl Stream<Item = Result<Corner, Status>> + Send + 'static {
        let corners: Vec<Result<Corner, Status>> = if request.count < 3 {
            vec![Err(Status::invalid_argument(
                "a polygon has at least 3 sides",
            ))]
        } else {
            (0..request.count)
                .map(|index| Ok(Corner { index }))
                .collect()
        };
        futures::stream::iter(corners)
    }

    async fn whoami(&self, _request: Empty, context: &mut CallContext) -> Result<Name, Status> {
        let user = context
            .metadata()
            .text("user")
            .unwrap_or("anonymous")
            .to_owned();
        let deadline = if context.deadline().is_some() {
            " deadline"
        } else {
            ""
        };
        let name = format!("{user}{deadline}");
        context.response_metadata_mut().insert("served-to", user);
        Ok(Name { name })
    }

    async fn stall(&self, _request: Empty, _context: &mut CallContext) -> Result<Empty, Status> {
        pending().await
    }

    fn total(
        &self,
        mut requests: Requests<Sides, ShapesRequest>,
        context: &mut CallContext,
    ) -> impl Future<Output = Result<Sides, Status>> + Send {
        // Made as the rpc starts, before its first poll.
        let guard = self.guard("total dropped");
        async move {
            let mut counts = Vec::new();
            let outcome = loop {
                let Some(sides) = requests.next().await else {
                    break Ok(Sides {
                        count: counts.iter().sum(),
                    });
                };
                let _ = guard.0.send("total read");
                match sides {
                    Ok(sides) if sides.count >= 3 => counts.push(sides.count),
                    Ok(_) => break Err(Status::invalid_argument("a polygon has at least 3 sides")),
                    Err(status) => break Err(status),
                }
            };
            let counts: Vec<String> = counts.iter().map(u32::to_string).collect();
            context
                .response_metadata_mut()
                .insert("counts", counts.join(","));
            outcome
        }
    }

    async fn mix(&self, request: Mixed, _context: &mut CallContext) -> Result<Mixed, Status> {
        Ok(request)
    }

    async fn flat(&self, request: Plain, _context: &mut CallContext) -> Result<Plain, Status> {
        Ok(request)
    }

    fn mirror(
        &self,
        requests: Requests<Corner, ShapesRequest>,
        context: &mut CallContext,
    ) -> impl Stream<Item = Result<Corner, Status>> + Send + 'static {
        context.response_metadata_mut().insert("mirror", "yes");
        let guard = self.guard("mirror dropped");
        requests.map(move |corner| {
            let _alive = &guard;
            match corner {
                Ok(corner) if corner.index == 13 => {
                    Err(Status::invalid_argument("corner 13 is unlucky"))
                }
                other => other,
            }
        })
    }
}

/// Binds a service on an ephemeral loopback port and spawns it; its endpoint.
/// (A macro: the server's bounds name a connector type of protosocket-rpc's
/// own.)
#[allow(unused_macros)]
macro_rules! serve {
    ($service:expr) => {{
        let server = protosocket_rpc::server::RpcServer::bind(
            "127.0.0.1:0"
                .parse::<protosocket::Endpoint>()
                .expect("endpoint"),
            $service,
            protosocket_rpc::server::RpcServerConfig::default(),
        )
        .expect("bind");
        let endpoint = server.local_endpoint().expect("local endpoint");
        tokio::spawn(server);
        endpoint
    }};
}

/// A client of `endpoint` over one connection.
pub async fn client_of(endpoint: protosocket::Endpoint) -> ShapesClient {
    within(
        "connect",
        ShapesClient::connect(endpoint, &RpcClientConfig::default()),
    )
    .await
    .expect("connect")
}

/// A client of `endpoint` over a pool of two connections.
pub fn pool_of(endpoint: protosocket::Endpoint) -> ShapesClient {
    ShapesClient::pool(
        [endpoint],
        RpcClientConfig::default(),
        PoolConfig::default().connections(2),
    )
}

/// An untyped client of `endpoint`, which sees the envelopes.
pub async fn raw_client_of(
    endpoint: protosocket::Endpoint,
) -> RpcClient<ShapesRequest, ShapesResponse> {
    within(
        "connect",
        RpcClient::connect(
            endpoint,
            protosocket_prost::codec(),
            &RpcClientConfig::default(),
        ),
    )
    .await
    .expect("connect")
}

/// The generated per-connection service, to run by hand as the server does.
pub fn connection() -> ShapesConnection<Polygons> {
    let server = ShapesServer::new(Polygons::default());
    let peer = protosocket::PeerAddress::Tcp("127.0.0.1:1".parse().expect("address"));
    let stats = std::sync::Arc::new(protosocket::ConnectionStats::default());
    server.new_connection_service(&ConnectionInfo::new(&peer, &stats))
}
