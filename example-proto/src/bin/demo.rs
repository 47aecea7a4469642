//! The one-command demo: starts the echo server on an ephemeral port in this
//! process, drives it with the load generator for 5 seconds (2 connections, 64
//! calls in flight each, 10% streaming), prints each second and the summary, and
//! shuts the server down gracefully.

use std::process::ExitCode;
use std::time::Duration;

use example_proto::LoadConfig;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let server = match example_proto::start_server(([127, 0, 0, 1], 0).into()) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot start the echo server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let load = LoadConfig {
        duration: Duration::from_secs(5),
        stream_percent: 10,
        ..LoadConfig::default()
    };
    println!(
        "echo server on {}; {} connections x {} in flight for {}s, {}-byte unary payload, {}% streams of {} items",
        server.local_addr(),
        load.connections,
        load.concurrency,
        load.duration.as_secs(),
        load.payload,
        load.stream_percent,
        load.stream_payload
    );
    let outcome = example_proto::run_load_with_progress(server.local_addr(), &load, |second| {
        println!("{second}")
    })
    .await;
    server.shutdown().await;
    match outcome {
        Ok(summary) => {
            println!("{summary}");
            if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("cannot reach the echo server: {error}");
            ExitCode::FAILURE
        }
    }
}
