//! The telnet example server: `example-telnet [ADDRESS]`, `ADDRESS` defaulting to
//! `$HOST`, then `127.0.0.1:9001`. Logs follow `RUST_LOG` (default `info`).

use std::process::ExitCode;

use example_telnet::TelnetConnector;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let mut stop = match protosocket_server::StopSignals::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("cannot install the stop signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HOST").ok())
        .unwrap_or_else(|| "127.0.0.1:9001".to_string());
    // Host names are welcome too: the first address they resolve to is used.
    let resolved = match tokio::net::lookup_host(&address).await {
        Ok(mut addresses) => addresses.next(),
        Err(error) => {
            eprintln!("cannot resolve {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(resolved) = resolved else {
        eprintln!("{address} resolves to no address");
        return ExitCode::FAILURE;
    };

    let server = match TelnetConnector::default().bind(resolved) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on {resolved}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = server.shutdown_handle();
    tokio::spawn(async move {
        let signal = stop.recv().await;
        tracing::info!(%signal, "shutting down");
        shutdown.shutdown();
    });
    server.await;
    ExitCode::SUCCESS
}
