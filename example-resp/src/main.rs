//! The RESP server: `example-resp [--host ADDRESS] [--requirepass PW] [--workers N]
//! [--store klock|sharded] [--max-bulk-len BYTES]`. Logs follow `RUST_LOG`
//! (default `info`).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use example_resp::{KlockStore, Limits, RespConfig, ShardedStore, Store, StoreKind};
use tracing_subscriber::EnvFilter;

/// A Redis-protocol server: talk to it with redis-cli or redis-benchmark.
/// Ctrl-C or SIGTERM shuts it down gracefully; RUST_LOG sets the log filter
/// (default info).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on, host:port.
    #[arg(long, env = "HOST", default_value = "127.0.0.1:6380")]
    host: String,
    /// Password every connection must give with AUTH (user `default`) first.
    #[arg(long)]
    requirepass: Option<String>,
    /// Runtime worker threads (at least 1); default: one per CPU.
    #[arg(long, value_parser = at_least_one)]
    workers: Option<usize>,
    /// The keyspace: one map under one lock, or shards. Default: klock with up
    /// to two workers, sharded with more.
    #[arg(long, value_enum)]
    store: Option<StoreFlag>,
    /// The longest bulk string a client may send, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_bulk_len: usize,
}

/// A worker count: a number, and not 0 (a runtime without workers runs nothing).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("the server needs at least one worker".into()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreFlag {
    Klock,
    Sharded,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let workers = cli
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let kind = match cli.store {
        Some(StoreFlag::Klock) => StoreKind::Klock,
        Some(StoreFlag::Sharded) => StoreKind::Sharded,
        None => StoreKind::for_workers(workers),
    };
    tracing::info!(workers, store = ?kind, "starting");
    let config = RespConfig::default()
        .requirepass(cli.requirepass)
        .limits(Limits::with_max_bulk_len(cli.max_bulk_len));
    runtime.block_on(async move {
        match kind {
            StoreKind::Klock => serve(&cli.host, config, KlockStore::default()).await,
            StoreKind::Sharded => serve(&cli.host, config, ShardedStore::default()).await,
        }
    })
}

async fn serve<S: Store>(host: &str, config: RespConfig, store: S) -> ExitCode {
    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let stop = match protosocket_server::StopSignals::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("cannot install the stop signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address: SocketAddr = match tokio::net::lookup_host(host).await.map(|mut a| a.next()) {
        Ok(Some(address)) => address,
        Ok(None) => {
            eprintln!("{host} resolves to no address");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("cannot resolve {host}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match config.bind(address, Arc::new(store)) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    stop.shutdown_on_signal(server.shutdown_handle());
    server.await;
    ExitCode::SUCCESS
}
