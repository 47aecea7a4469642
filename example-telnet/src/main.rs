//! The telnet example server: `example-telnet [ADDRESS]`, `ADDRESS` defaulting to
//! `--host`, else `$HOST`, else `127.0.0.1:9001`. Logs follow `RUST_LOG` (default
//! `info`).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use example_telnet::TelnetConnector;
use tracing_subscriber::EnvFilter;

/// A line server to talk to with nc: echo TEXT, upper TEXT, sleep SECONDS TEXT,
/// stats, quit. Ctrl-C or SIGTERM shuts it down gracefully; RUST_LOG sets the log
/// filter (default info).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on, host:port (a host name listens on the first address it
    /// resolves to); overrides --host.
    #[arg(value_name = "ADDRESS")]
    address: Option<String>,
    /// Address to listen on when ADDRESS is not given.
    #[arg(long, env = "HOST", default_value = "127.0.0.1:9001")]
    host: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    // Before the server says it listens: a stop signal from then on shuts it down
    // gracefully instead of killing it.
    let stop = match protosocket_server::StopSignals::install() {
        Ok(stop) => stop,
        Err(error) => {
            eprintln!("cannot install the stop signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let address = cli.address.unwrap_or(cli.host);
    let resolved = match tokio::net::lookup_host(&address).await {
        Ok(mut addresses) => addresses.next(),
        Err(error) => {
            eprintln!("cannot resolve {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(resolved) = resolved else {
        eprintln!("{address} resolves to no address");
        return ExitCode::FAILURE;
    };

    let server = match TelnetConnector::default().bind(resolved) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("cannot listen on {resolved}: {error}");
            return ExitCode::FAILURE;
        }
    };
    stop.shutdown_on_signal(server.shutdown_handle());
    server.await;
    ExitCode::SUCCESS
}
