//! The checking client: dials `--endpoint` (else `$ENDPOINT`, else
//! `127.0.0.1:9002`), runs `--iterations N` (default 1,000) calls alternating
//! unary and streaming, checks every answer, prints the counts, and exits non-zero
//! on any mismatch or error.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use example_messagepack::Limit;

/// The checking client: alternates unary and streaming calls to the echo server,
/// checks every answer, prints the counts, and fails on any mismatch or error.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Server address, ip:port.
    #[arg(long, env = "ENDPOINT", default_value = "127.0.0.1:9002")]
    endpoint: SocketAddr,
    /// Calls to make, alternating unary and streaming.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    iterations: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    example_messagepack::init_tracing();
    let limit = Limit::Iterations(cli.iterations);
    if example_messagepack::check_server(cli.endpoint.into(), limit).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
