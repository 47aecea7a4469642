//! A closed-loop load generator for the echo server: prints the rate and latency
//! percentiles each second, then a summary. Dials `--endpoint` (else `$ENDPOINT`,
//! else `127.0.0.1:9000`); `--help` lists the flags.

use std::process::ExitCode;

use clap::Parser;
use example_proto::LoadArgs;
use protosocket::Endpoint;

/// A closed-loop load generator for the echo server: prints the rate and latency
/// percentiles each second, then a summary; fails if any call failed.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Server address, ip:port or unix:/path.
    #[arg(long, env = "ENDPOINT", default_value = example_proto::DEFAULT_ADDRESS)]
    endpoint: Endpoint,
    #[command(flatten)]
    load: LoadArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    example_proto::init_tracing("error");
    example_proto::run_and_print(cli.endpoint, &cli.load.into()).await
}
