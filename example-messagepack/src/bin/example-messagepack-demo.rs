//! One-command demo: starts the echo server on `127.0.0.1:0` in this process, runs
//! the checking client against it for about 2 seconds (or `--iterations N`, or
//! `--seconds S`), prints the summary and shuts the server down gracefully.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use example_messagepack::{check_server, serve, Limit};

/// The echo server and the checking client in one process: alternates unary and
/// streaming calls, checks every answer, prints the counts, and shuts the server
/// down.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Calls to make, alternating unary and streaming.
    #[arg(long, value_name = "N", conflicts_with = "seconds")]
    iterations: Option<u64>,
    /// How long to make calls, in seconds [default: 2].
    #[arg(long, value_name = "S")]
    seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    example_messagepack::init_tracing();
    let limit = match cli.iterations {
        Some(iterations) => Limit::Iterations(iterations),
        None => Limit::Duration(Duration::from_secs(cli.seconds.unwrap_or(2))),
    };

    let server = match serve("127.0.0.1:0".parse().expect("a literal address")) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot start the server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = match server.local_endpoint() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("cannot read the server's address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server);
    println!("server listening on {address}; running the alternating client ({limit:?})");
    let clean = check_server(address, limit).await;

    shutdown.shutdown_and_wait().await;
    let _ = running.await;
    println!("server shut down");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
