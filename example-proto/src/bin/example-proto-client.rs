//! A closed-loop load generator for the echo server: prints the rate and latency
//! percentiles each second, then a summary. Dials `ENDPOINT` (default
//! `127.0.0.1:9000`) unless `--endpoint` says otherwise; `--help` lists the flags.

use std::process::ExitCode;
use std::time::Duration;

use example_proto::LoadConfig;

const USAGE: &str = "\
usage: example-proto-client [flags]

  --connections N      TCP connections (default 2)
  --concurrency N      requests in flight per connection (default 64)
  --duration SECS      how long to send requests (default 10)
  --payload BYTES      unary message length (default 32)
  --stream-percent P   percentage of streaming requests, 0-100 (default 0);
                       each returns one item per character of an 8-char message
  --endpoint ADDR      server address, ip:port or unix:/path
                       (default: $ENDPOINT, else 127.0.0.1:9000)
  --help               this text";

/// What the command line asks for.
struct Args {
    endpoint: protosocket::Endpoint,
    load: LoadConfig,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut endpoint =
        std::env::var("ENDPOINT").unwrap_or_else(|_| example_proto::DEFAULT_ADDRESS.into());
    let mut load = LoadConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|error| format!("{flag} {value}: {error}"))
        };
        match flag.as_str() {
            "--connections" => load.connections = number()?.max(1) as usize,
            "--concurrency" => load.concurrency = number()?.max(1) as usize,
            "--duration" => load.duration = Duration::from_secs(number()?),
            "--payload" => load.payload = number()? as usize,
            "--stream-percent" => match number()? {
                percent @ 0..=100 => load.stream_percent = percent as u32,
                _ => return Err(format!("{flag} {value}: not a percentage")),
            },
            "--endpoint" => endpoint = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let endpoint = endpoint
        .parse()
        .map_err(|error| format!("endpoint {endpoint:?}: {error}"))?;
    Ok(Some(Args { endpoint, load }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let load = &args.load;
    println!(
        "{} connections x {} in flight against {} for {}s, {}-byte payload, {}% streams",
        load.connections,
        load.concurrency,
        args.endpoint,
        load.duration.as_secs(),
        load.payload,
        load.stream_percent
    );
    match example_proto::run_load_with_progress(args.endpoint.clone(), load, |second| {
        println!("{second}")
    })
    .await
    {
        Ok(summary) => {
            println!("{summary}");
            if summary.errors == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("cannot reach {}: {error}", args.endpoint);
            ExitCode::FAILURE
        }
    }
}
