//! What the binaries share: the load generator's flags, logging, a load run that
//! prints as it goes, and the server's life from bind to a stop signal.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use protosocket::Endpoint;

use crate::{run_load_with_progress, start_server, LoadConfig};

/// The load generator's flags, for the binaries that run it (`#[command(flatten)]`
/// them). Defaults are [`LoadConfig`]'s; a binary with other defaults sets them on
/// its command with `mut_arg`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// TCP connections.
    #[arg(
        long,
        value_name = "N",
        default_value_t = at_least_one(LoadConfig::default().connections)
    )]
    pub connections: NonZeroUsize,
    /// Requests in flight per connection.
    #[arg(
        long,
        value_name = "N",
        default_value_t = at_least_one(LoadConfig::default().concurrency)
    )]
    pub concurrency: NonZeroUsize,
    /// How long to send requests, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = LoadConfig::default().duration.as_secs()
    )]
    pub duration: u64,
    /// Unary message length, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = LoadConfig::default().payload)]
    pub payload: usize,
    /// Percentage of streaming requests, 0-100; each returns one item per
    /// character of an 8-character message.
    #[arg(
        long,
        value_name = "P",
        default_value_t = LoadConfig::default().stream_percent,
        value_parser = clap::value_parser!(u32).range(0..=100)
    )]
    pub stream_percent: u32,
}

impl From<LoadArgs> for LoadConfig {
    fn from(args: LoadArgs) -> Self {
        LoadConfig {
            connections: args.connections.get(),
            concurrency: args.concurrency.get(),
            duration: Duration::from_secs(args.duration),
            payload: args.payload,
            stream_percent: args.stream_percent,
            ..LoadConfig::default()
        }
    }
}

/// A default of [`LoadConfig`]'s, which has no zero counts.
fn at_least_one(count: usize) -> NonZeroUsize {
    NonZeroUsize::new(count).unwrap_or(NonZeroUsize::MIN)
}

/// Logs to stdout, filtered by `RUST_LOG` (else `default_filter`), in colour only
/// when stdout is a terminal.
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(std::io::stdout().is_terminal())
        .try_init();
}

/// Runs `load` against `endpoint`, printing what it runs, a line a second and the
/// summary. Succeeds only when every call did.
pub async fn run_and_print(endpoint: Endpoint, load: &LoadConfig) -> ExitCode {
    println!(
        "{} connections x {} in flight against {endpoint} for {}s, {}-byte unary payload, {}% streams of {} items",
        load.connections,
        load.concurrency,
        load.duration.as_secs(),
        load.payload,
        load.stream_percent,
        load.stream_payload
    );
    match run_load_with_progress(endpoint.clone(), load, |second| println!("{second}")).await {
        Ok(summary) => {
            println!("{summary}");
            if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("cannot reach {endpoint}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The echo server's whole life: listens on `address` until Ctrl-C or SIGTERM,
/// then shuts down gracefully.
pub async fn serve_until_stopped(address: SocketAddr) -> ExitCode {
    match serve(address).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(address: SocketAddr) -> Result<(), String> {
    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let mut stop = protosocket_server::StopSignals::install()
        .map_err(|error| format!("cannot install the stop signal handlers: {error}"))?;
    let server =
        start_server(address).map_err(|error| format!("cannot listen on {address}: {error}"))?;
    println!("echo server listening on {}", server.local_addr());
    let signal = stop.recv().await;
    println!("{signal}: shutting down");
    server.shutdown().await;
    Ok(())
}
