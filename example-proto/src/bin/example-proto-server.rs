//! The echo server of DESIGN.md. Listens on `--host` (else `$HOST`, else
//! `127.0.0.1:9000`) until Ctrl-C or SIGTERM, then shuts down gracefully.
//! `RUST_LOG` sets the log filter (default `info`).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

/// The echo rpc server (prost): listens until Ctrl-C or SIGTERM, then shuts down
/// gracefully. RUST_LOG sets the log filter (default info).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on, ip:port.
    #[arg(long, env = "HOST", default_value = example_proto::DEFAULT_ADDRESS)]
    host: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    example_proto::init_tracing("info");
    example_proto::serve_until_stopped(cli.host).await
}
