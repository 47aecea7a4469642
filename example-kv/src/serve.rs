//! `example-kv serve`: the kv server as a process of its own, over TCP or TLS
//! (mutual TLS with `--client-ca`), a token checked once per connection, and a
//! graceful drain on SIGTERM or Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use example_kv::deploy::TokenCheck;
use example_kv::kv::KvServer;
use example_kv::{KvService, Store};
use protosocket::tls::{self, TlsListener};
use protosocket::{Endpoint, Listener};
use protosocket_rpc::server::{
    CallContext, CallHook, ConnectionInfo, ProtosocketServerConfig, RpcConnector, RpcServer,
    RpcServerConfig, ShutdownHandle, SocketService, TokioSpawn,
};
use protosocket_server::{ServerConnector, StopSignals};

use crate::tls_files::{certificates, private_key};

/// Serves the kv service until SIGTERM or Ctrl-C, then drains: tells each
/// client, finishes what they sent, and exits 0 with what it served.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Where to listen (`ip:port`; port 0 for any free port).
    #[arg(long, env = "HOST")]
    listen: Endpoint,
    /// PEM file of the server's certificate chain: serve TLS instead of TCP.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM file of the server certificate's private key.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM file of the CA whose client certificates are let in: every client
    /// must present one (mutual TLS).
    #[arg(long, requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// A token every connection must show once, on its first call.
    #[arg(long, env = "KV_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// On shutdown, how long connections keep serving new calls while their
    /// clients move away, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    drain_timeout_ms: u64,
}

/// Extra time, past the drain, that connections get to finish their calls.
const GRACE_AFTER_DRAIN: Duration = Duration::from_secs(2);

/// What one server process served.
#[derive(Debug, Default)]
struct Served {
    connections: AtomicU64,
    calls: AtomicU64,
}

/// The kv server's socket service, counting connections and naming each
/// client as it connects (its certificate's name on mutual TLS).
struct Counted {
    inner: KvServer<KvService>,
    served: Arc<Served>,
}

impl SocketService for Counted {
    type Codec = <KvServer<KvService> as SocketService>::Codec;
    type ConnectionService = <KvServer<KvService> as SocketService>::ConnectionService;

    fn codec(&self) -> Self::Codec {
        self.inner.codec()
    }

    fn new_connection_service(&self, connection: &ConnectionInfo<'_>) -> Self::ConnectionService {
        let n = self.served.connections.fetch_add(1, Ordering::Relaxed) + 1;
        let client = connection
            .peer_identity()
            .and_then(|identity| identity.dns_names().first().cloned())
            .unwrap_or_else(|| "no certificate".into());
        println!("connection {n} from {} ({client})", connection.peer());
        self.inner.new_connection_service(connection)
    }
}

/// Runs the server until a stop signal, then drains it.
pub(crate) async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    // Before anything says the server is up: a signal from then on drains.
    let mut stop = StopSignals::install()?;
    let served = Arc::new(Served::default());
    let counter = Arc::clone(&served);
    let drain = Duration::from_millis(args.drain_timeout_ms);
    let mut config = RpcServerConfig::default()
        .drain_timeout(drain)
        .server_config(ProtosocketServerConfig::default().grace_period(drain + GRACE_AFTER_DRAIN))
        .call_hook(Some(CallHook::new(move |_: &mut CallContext| {
            let calls = counter.calls.fetch_add(1, Ordering::Relaxed) + 1;
            if is_power_of_ten(calls) {
                // Progress at 1, 10, 100, ... calls: what scripts (and the
                // rolling-restart test) wait for.
                println!("calls served: {calls}");
            }
            Ok(())
        })));
    let check = args.token.as_deref().map(TokenCheck::new);
    if let Some(check) = &check {
        config = config.auth_hook(Some(check.hook()));
    }

    let listener = args
        .listen
        .listen(config.get_server_config().get_socket_options())?;
    let local = listener.local_endpoint()?;
    let service = Counted {
        inner: KvServer::new(
            KvService::new(Arc::new(Store::default())).served_by(local.to_string()),
        ),
        served: Arc::clone(&served),
    };
    let (shutdown, mode) = match &args.tls_cert {
        Some(cert) => {
            let chain = certificates(cert)?;
            let key = private_key(args.tls_key.as_deref().ok_or("--tls-key is required")?)?;
            let (tls, mode) = match &args.client_ca {
                Some(ca) => (
                    tls::server_config_with_client_auth(chain, key, &certificates(ca)?)?,
                    "mutual tls",
                ),
                None => (tls::server_config(chain, key)?, "tls"),
            };
            let listener = TlsListener::new(listener, Arc::new(tls));
            (spawn(listener, service, config), mode)
        }
        None => (spawn(listener, service, config), "tcp"),
    };
    let auth = if check.is_some() {
        ", token required"
    } else {
        ""
    };
    println!("listening on {local} ({mode}{auth})");
    std::io::stdout().flush()?;

    let signal = stop.recv().await;
    println!("{signal}: draining");
    shutdown.shutdown_and_wait().await;
    println!(
        "served {} calls on {} connections, {} token checks",
        served.calls.load(Ordering::Relaxed),
        served.connections.load(Ordering::Relaxed),
        check.as_ref().map_or(0, TokenCheck::checks),
    );
    Ok(())
}

/// Runs the server on `listener` on a task of its own.
fn spawn<L>(listener: L, service: Counted, config: RpcServerConfig) -> ShutdownHandle
where
    L: Listener,
    RpcConnector<Counted, L::Stream, TokioSpawn>: ServerConnector<Stream = L::Stream>,
    RpcServer<L, Counted, TokioSpawn>: std::future::Future<Output = ()> + Send + 'static,
{
    let server = RpcServer::new(listener, service, config, TokioSpawn);
    let shutdown = server.shutdown_handle();
    tokio::spawn(server);
    shutdown
}

/// Whether `n` is 1, 10, 100, ...
fn is_power_of_ten(mut n: u64) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}
