//! What the binaries share: logging, the checking client's run, and the server's
//! life from bind to a stop signal.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use protosocket_rpc::client::RpcClientConfig;

use crate::{connect, run_alternating, serve, Limit};

/// The deadline of each call, and of the connect, in the binaries.
pub const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`), in colour only when
/// stderr is a terminal.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Connects to the echo server at `address`, runs the alternating client until
/// `limit`, and prints its summary. Whether every call succeeded and matched.
pub async fn check_server(address: protosocket::Endpoint, limit: Limit) -> bool {
    let config = RpcClientConfig::default().default_deadline(Some(CALL_DEADLINE));
    let client = match tokio::time::timeout(CALL_DEADLINE, connect(address.clone(), &config)).await
    {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            eprintln!("cannot connect to {address}: {error}");
            return false;
        }
        Err(_) => {
            eprintln!("cannot connect to {address}: timed out after {CALL_DEADLINE:?}");
            return false;
        }
    };
    let summary = run_alternating(&client, limit, CALL_DEADLINE).await;
    println!("{summary}");
    summary.is_clean()
}

/// The echo server's whole life: listens on `address` until Ctrl-C or SIGTERM,
/// then shuts down gracefully.
pub async fn serve_until_stopped(address: SocketAddr) -> ExitCode {
    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let mut stop = match protosocket_server::StopSignals::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("cannot install the stop signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match serve(address) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = server.local_endpoint().unwrap_or(address.into());
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server);
    println!("example-messagepack-server listening on {local}");
    println!("{}: shutting down", stop.recv().await);
    shutdown.shutdown_and_wait().await;
    let _ = running.await;
    ExitCode::SUCCESS
}
