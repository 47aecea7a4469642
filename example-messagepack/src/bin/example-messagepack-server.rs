//! The echo server over messagepack: listens on `HOST` (default `127.0.0.1:9002`)
//! until Ctrl-C or SIGTERM, then shuts down gracefully.

use std::net::SocketAddr;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    example_messagepack::init_tracing();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1:9002".to_string());
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
    let server = match example_messagepack::serve(address) {
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
    let signal = stop.recv().await;
    println!("{signal}: shutting down");
    shutdown.shutdown_and_wait().await;
    let _ = running.await;
    ExitCode::SUCCESS
}
