//! The one-command demo: starts the echo server on an ephemeral port in this
//! process, drives it with the load generator for 5 seconds (2 connections, 64
//! calls in flight each, 10% streaming; the client's flags change them), prints
//! each second and the summary, and shuts the server down gracefully.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use example_proto::LoadArgs;

/// The echo server and the load generator in one process: prints the rate and
/// latency percentiles each second, then a summary, and shuts the server down.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    load: LoadArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    // A shorter run than the client's, with some streams in the mix.
    let matches = Cli::command()
        .mut_arg("duration", |arg| arg.default_value("5"))
        .mut_arg("stream_percent", |arg| arg.default_value("10"))
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    example_proto::init_tracing("error");
    let server = match example_proto::start_server(([127, 0, 0, 1], 0).into()) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot start the echo server: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("echo server on {} in this process", server.local_addr());
    let outcome = example_proto::run_and_print(server.local_addr().into(), &cli.load.into()).await;
    server.shutdown().await;
    outcome
}
