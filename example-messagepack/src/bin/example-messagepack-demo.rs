//! One-command demo: starts the echo server on `127.0.0.1:0` in this process, runs
//! the checking client against it for about 2 seconds (or `--iterations N`, or
//! `--seconds S`), prints the summary and shuts the server down gracefully.
//!
//! Usage: `example-messagepack-demo [--iterations N | --seconds S]`

use std::process::ExitCode;
use std::time::Duration;

use example_messagepack::{connect, parse_flag, run_alternating, serve, Limit};
use protosocket_rpc::client::RpcClientConfig;

const CALL_DEADLINE: Duration = Duration::from_secs(5);
const USAGE: &str = "usage: example-messagepack-demo [--iterations N | --seconds S]";

#[tokio::main]
async fn main() -> ExitCode {
    example_messagepack::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let limit = match (
        parse_flag(&args, "--iterations"),
        parse_flag(&args, "--seconds"),
    ) {
        (Ok(Some(iterations)), Ok(None)) => Limit::Iterations(iterations),
        (Ok(None), Ok(seconds)) => Limit::Duration(Duration::from_secs(seconds.unwrap_or(2))),
        (Ok(Some(_)), Ok(Some(_))) => {
            eprintln!("give --iterations or --seconds, not both\n{USAGE}");
            return ExitCode::from(2);
        }
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::from(2);
        }
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

    let config = RpcClientConfig::default().default_deadline(Some(CALL_DEADLINE));
    let clean = match connect(address.clone(), &config).await {
        Ok(client) => {
            let summary = run_alternating(&client, limit, CALL_DEADLINE).await;
            println!("{summary}");
            summary.is_clean()
        }
        Err(error) => {
            eprintln!("cannot connect to {address}: {error}");
            false
        }
    };

    shutdown.shutdown_and_wait().await;
    let _ = running.await;
    println!("server shut down");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
