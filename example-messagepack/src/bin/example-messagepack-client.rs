//! The checking client: dials `ENDPOINT` (default `127.0.0.1:9002`), runs
//! `--iterations N` (default 1,000) calls alternating unary and streaming, checks
//! every answer, prints the counts, and exits non-zero on any mismatch or error.
//!
//! Usage: `example-messagepack-client [--iterations N]`

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use example_messagepack::{connect, parse_flag, run_alternating, Limit};
use protosocket_rpc::client::RpcClientConfig;

const CALL_DEADLINE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> ExitCode {
    example_messagepack::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iterations = match parse_flag(&args, "--iterations") {
        Ok(iterations) => iterations.unwrap_or(1_000),
        Err(message) => {
            eprintln!("{message}\nusage: example-messagepack-client [--iterations N]");
            return ExitCode::from(2);
        }
    };
    let endpoint = std::env::var("ENDPOINT").unwrap_or_else(|_| "127.0.0.1:9002".to_string());
    let address: SocketAddr = match endpoint.parse() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("ENDPOINT={endpoint:?} is not a socket address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = RpcClientConfig::default().default_deadline(Some(CALL_DEADLINE));
    let connecting = tokio::time::timeout(CALL_DEADLINE, connect(address, &config));
    let client = match connecting.await {
        Ok(Ok(client)) => client,
        Ok(Err(error)) => {
            eprintln!("cannot connect to {address}: {error}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            eprintln!("cannot connect to {address}: timed out after {CALL_DEADLINE:?}");
            return ExitCode::FAILURE;
        }
    };
    let summary = run_alternating(&client, Limit::Iterations(iterations), CALL_DEADLINE).await;
    println!("{summary}");
    if summary.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
