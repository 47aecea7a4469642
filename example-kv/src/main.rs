//! The one-command demo: starts the kv server on an ephemeral port in this
//! process, makes one call of each kind with the generated client, prints each
//! call and its outcome, and shuts the server down. With `--token` the server
//! authenticates each connection once and the client sends the token.
//!
//! Subcommands run the pieces of a deployment instead (README, "Deploying"):
//! `serve` a kv server of its own (TCP or mutual TLS, a token, a graceful drain
//! on SIGTERM), `load` it through a pool by host names, ask its `health` (exit
//! 0 when it is serving), and make development `certs`.

mod certs;
mod load;
mod serve;
mod tls_files;

use std::pin::{pin, Pin};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use example_kv::deploy::{self, TokenCheck};
use example_kv::kv::{
    DeleteRequest, Entry, Event, GetRequest, KvClient, KvRequest, KvResponse, ScanRequest,
    SetRequest, WatchRequest,
};
use example_kv::{KvService, Store};
use futures::{stream, Stream, StreamExt};
use protosocket::{Connect, EndpointConnector};
use protosocket_rpc::client::{RpcClient, RpcClientConfig};
use protosocket_rpc::health::HealthStatus;
use protosocket_rpc::server::RpcServerConfig;
use protosocket_rpc::CallOptions;

/// How long the demo waits for any one step of the watch before giving up.
const WATCH_WAIT: Duration = Duration::from_secs(5);

/// The kv server and a client in one process: sets, gets (one missing, one
/// expired), scans, deletes, bulk-loads while a watch looks on, and prints
/// what each call answered.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Where the server listens (port 0: any free port).
    #[arg(long, env = "HOST", default_value = "127.0.0.1:0")]
    host: protosocket::Endpoint,
    /// The lifetime of the demo's expiring key, in milliseconds.
    #[arg(long, default_value_t = 200)]
    ttl_ms: u64,
    /// A token the demo's server requires of every connection (checked once
    /// per connection); the demo's client sends it.
    #[arg(long, env = "KV_TOKEN")]
    token: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Asks a kv server whether it is serving: exit 0 when it is, 1 when it is
    /// not, cannot say, or cannot be reached.
    Health {
        /// The server.
        #[arg(long, env = "ENDPOINT", default_value = "127.0.0.1:9000")]
        endpoint: protosocket::Endpoint,
        /// The service to ask about; empty for the whole server.
        #[arg(long, default_value = "")]
        service: String,
        #[command(flatten)]
        tls: tls_files::ClientTls,
    },
    Serve(serve::ServeArgs),
    Load(load::LoadArgs),
    Certs(certs::CertsArgs),
}

/// How long the health probe waits, to connect and for the answer.
const HEALTH_WAIT: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let (what, result) = match cli.command.take() {
        Some(Command::Health {
            endpoint,
            service,
            tls,
        }) => {
            return match tls.connector() {
                Ok(Some(connector)) => probe(&connector, endpoint, &service).await,
                Ok(None) => probe(&EndpointConnector::default(), endpoint, &service).await,
                Err(error) => {
                    println!("UNREACHABLE: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Serve(args)) => ("serve", serve::serve(args).await),
        Some(Command::Load(args)) => match load::load(args).await {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::FAILURE,
            Err(error) => ("load", Err(error)),
        },
        Some(Command::Certs(args)) => ("certs", certs::certs(args)),
        None => ("demo", run(cli).await),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{what} failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the health of `service` on the server at `endpoint`; success only
/// when it is serving.
/// `connector` makes the connection (TCP, or TLS).
async fn probe(
    connector: &impl Connect,
    endpoint: protosocket::Endpoint,
    service: &str,
) -> ExitCode {
    let config = RpcClientConfig::default().default_deadline(Some(HEALTH_WAIT));
    let status = tokio::time::timeout(HEALTH_WAIT, async {
        let client: RpcClient<KvRequest, KvResponse> =
            RpcClient::connect_with(connector, endpoint, KvClient::codec(), &config).await?;
        client.check_health(service).await
    })
    .await;
    match status {
        Ok(Ok(status)) => {
            println!("{status}");
            if status == HealthStatus::Serving {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(Err(error)) => {
            println!("UNREACHABLE: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            println!("UNREACHABLE: no answer within {HEALTH_WAIT:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(Store::default());
    let service = KvService::new(Arc::clone(&store)).served_by("kv-demo");
    let mut server_config = RpcServerConfig::default();
    let mut client_config = RpcClientConfig::default();
    if let Some(token) = &cli.token {
        server_config = server_config.auth_hook(Some(TokenCheck::new(token).hook()));
        client_config = client_config.credentials(Some(deploy::credentials(token)));
    }
    let server = deploy::start_server_with(cli.host, service, server_config)?;
    println!("kv server on {} in this process", server.local_endpoint());
    if cli.token.is_some() {
        println!("every connection authenticates with the token, once");
    }
    let client = KvClient::connect(server.local_endpoint(), &client_config).await?;

    for (key, value) in [
        ("user:1", "ada"),
        ("user:2", "grace"),
        ("user:3", "linus"),
        ("team:1", "kernel"),
    ] {
        let set = client
            .set(SetRequest {
                key: key.into(),
                value: value.into(),
                ttl_ms: 0,
            })
            .await?;
        println!("set {key} = {value:?}: replaced {}", set.replaced);
    }
    let session = SetRequest {
        key: "session:1".into(),
        value: b"token".to_vec(),
        ttl_ms: cli.ttl_ms,
    };
    client.set(session).await?;
    println!("set session:1 for {} ms", cli.ttl_ms);

    let got = client
        .get(GetRequest {
            key: "user:1".into(),
        })
        .await?;
    println!("get user:1 = {:?}", String::from_utf8_lossy(&got.value));
    let missing = client
        .get(GetRequest {
            key: "user:9".into(),
        })
        .await;
    println!("get user:9: {}", outcome(&missing));
    let empty = client.get(GetRequest { key: String::new() }).await;
    println!("get \"\": {}", outcome(&empty));

    let mut users = std::pin::pin!(client.scan(ScanRequest {
        prefix: "user:".into(),
        limit: 0
    }));
    while let Some(entry) = users.next().await {
        let entry = entry?;
        println!(
            "scan user: -> {} = {:?}",
            entry.key,
            String::from_utf8_lossy(&entry.value)
        );
    }

    let deleted = client
        .delete(DeleteRequest {
            key: "user:2".into(),
        })
        .await?;
    println!("delete user:2: deleted {}", deleted.deleted);
    let gone = client
        .get(GetRequest {
            key: "user:2".into(),
        })
        .await;
    println!("get user:2: {}", outcome(&gone));

    let options = CallOptions::new()
        .metadata("trace-id", "demo-1")
        .timeout(Duration::from_secs(1));
    let live = client
        .get_with(
            GetRequest {
                key: "session:1".into(),
            },
            options,
        )
        .await?;
    println!(
        "get session:1 (trace-id demo-1, 1 s deadline): {} ms left, served-by {}",
        live.get_ref().ttl_left_ms,
        live.metadata().text("served-by").unwrap_or("-")
    );
    tokio::time::sleep(Duration::from_millis(cli.ttl_ms)).await;
    let expired = client
        .get(GetRequest {
            key: "session:1".into(),
        })
        .await;
    println!(
        "get session:1 after {} ms: {}",
        cli.ttl_ms,
        outcome(&expired)
    );

    bulk_load_watched(&client, &store).await?;

    server.shutdown().await;
    println!("server shut down");
    Ok(())
}

/// Watches "user:" while a bulk load sets users and a team, and prints what
/// each saw; then a bulk load with an empty key fails.
async fn bulk_load_watched(
    client: &KvClient,
    store: &Store,
) -> Result<(), Box<dyn std::error::Error>> {
    let watch_users = WatchRequest {
        prefix: "user:".into(),
        stop: false,
    };
    // The watch stays open after its one request until it is dropped.
    let mut watch = pin!(client.watch(stream::iter([watch_users]).chain(stream::pending())));
    // Polled until the server has started watching (the store counts it).
    let subscribed = async {
        while store.watchers() == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::select! {
        () = subscribed => println!("watch user: started"),
        event = watch.next() => return Err(format!("the watch ended early: {event:?}").into()),
        () = tokio::time::sleep(WATCH_WAIT) => return Err("the watch did not start".into()),
    }

    let entries = [
        ("user:4", "barbara"),
        ("team:2", "compilers"),
        ("user:1", "ada lovelace"),
    ]
    .map(|(key, value)| Entry {
        key: key.into(),
        value: value.into(),
    });
    let loaded = client.bulk_load(stream::iter(entries)).await?;
    println!(
        "bulk load user:4, team:2, user:1: loaded {}, replaced {}",
        loaded.loaded, loaded.replaced
    );
    for _ in 0..2 {
        print_event(watch.as_mut(), "").await?;
    }

    let bad = [("user:5", "edsger"), ("", "nobody")].map(|(key, value)| Entry {
        key: key.into(),
        value: value.into(),
    });
    let failed = client.bulk_load(stream::iter(bad)).await;
    println!("bulk load user:5, \"\": {}", outcome(&failed));
    print_event(watch, " (set before the empty key)").await
}

/// Waits for the watch's next event and prints it, followed by `note`.
async fn print_event(
    mut watch: Pin<&mut impl Stream<Item = Result<Event, protosocket_rpc::Error>>>,
    note: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let event = tokio::time::timeout(WATCH_WAIT, watch.next())
        .await
        .map_err(|_| "no watch event")?
        .ok_or("the watch ended")??;
    println!(
        "watch user: -> {} = {:?}{note}",
        event.key,
        String::from_utf8_lossy(&event.value)
    );
    Ok(())
}

/// A call's outcome in a few words.
fn outcome<T>(result: &Result<T, protosocket_rpc::Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("error: {error}"),
    }
}
