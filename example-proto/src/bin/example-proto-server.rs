//! The echo server of DESIGN.md. Listens on `HOST` (default `127.0.0.1:9000`)
//! until Ctrl-C or SIGTERM, then shuts down gracefully. `RUST_LOG` sets the log filter.

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let host = std::env::var("HOST").unwrap_or_else(|_| example_proto::DEFAULT_ADDRESS.into());
    let address: SocketAddr = match host.parse() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("HOST={host:?} is not a socket address: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let mut stop = match protosocket_server::StopSignals::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("cannot install the stop signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match example_proto::start_server(address) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("echo server listening on {}", server.local_addr());
    let signal = stop.recv().await;
    println!("{signal}: shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}
