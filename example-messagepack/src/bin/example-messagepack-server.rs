//! The echo server over messagepack: listens on `--host` (else `$HOST`, else
//! `127.0.0.1:9002`) until Ctrl-C or SIGTERM, then shuts down gracefully.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// The echo rpc server over messagepack: listens until Ctrl-C or SIGTERM, then
/// shuts down gracefully. RUST_LOG sets the log filter (default warn).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on, ip:port.
    #[arg(long, env = "HOST", default_value = "127.0.0.1:9002")]
    host: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    example_messagepack::init_tracing();
    example_messagepack::serve_until_stopped(cli.host).await
}
