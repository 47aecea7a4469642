//! The soak test of the echo service: starts `example-proto-server` (the binary
//! built next to this one) on a free local port, runs the mixed load of
//! [`example_proto::soak`] against it, prints a line a second and a summary, stops
//! the server with SIGTERM, and exits 0 only if every check held (2 on a bad
//! flag). `--help` lists the flags.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::builder::RangedU64ValueParser;
use clap::Parser;
use example_proto::soak::{self, Check, SoakConfig};

/// The soak test of the echo service: starts example-proto-server (built next to
/// this binary) on a free local port, runs a mixed load against it, prints a line a
/// second and a summary, stops the server with SIGTERM, and fails unless every
/// check held.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "The server binary must be built next to this one:
  cargo build --release -p example-proto
Its log level is $SOAK_SERVER_LOG (default warn)."
)]
struct Cli {
    /// How long to run the load, in seconds, at least 5.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = SoakConfig::default().duration.as_secs(),
        value_parser = at_least_5_seconds
    )]
    duration: u64,
    /// Groups of tasks; each but the last shares a connection, the last (with 2
    /// or more) shares a pool.
    #[arg(
        long,
        value_name = "N",
        default_value_t = SoakConfig::default().connections,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=1024)
    )]
    connections: usize,
    /// Tasks per group.
    #[arg(
        long,
        value_name = "N",
        default_value_t = SoakConfig::default().concurrency,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=4096)
    )]
    concurrency: usize,
    /// Seeds the tasks' choices [default: from the clock].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

impl From<Cli> for SoakConfig {
    fn from(cli: Cli) -> Self {
        let clock = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64)
        };
        SoakConfig {
            duration: Duration::from_secs(cli.duration),
            connections: cli.connections,
            concurrency: cli.concurrency,
            seed: cli.seed.unwrap_or_else(clock),
        }
    }
}

/// `--duration`: whole seconds, at least 5, so that the run has a warm-up and
/// samples after it.
fn at_least_5_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(seconds @ 5..) => Ok(seconds),
        Ok(_) => Err("at least 5 seconds".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// Past the load's duration, how long the whole process may take before it stops
/// itself: startup, the drain of the last calls, the checks and the server's stop
/// all fit well within it.
const HARD_STOP_MARGIN: Duration = Duration::from_secs(30);
/// How long the server may take to accept its first connection.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(4);
/// Exit code when the hard stop fires.
const HARD_STOPPED: u8 = 3;

fn main() -> ExitCode {
    let born = Instant::now();
    let config = SoakConfig::from(Cli::parse());
    example_proto::init_tracing("error");

    let mut server = match Server::start() {
        Ok(server) => server,
        Err(error) => {
            eprintln!("soak: cannot start the server: {error}");
            return ExitCode::FAILURE;
        }
    };
    hard_stop(
        born + config.duration + HARD_STOP_MARGIN,
        server.pid(),
        Arc::clone(&server.reaped),
    );
    println!(
        "soak: server pid {} on {}; {} groups x {} tasks for {}s, seed {}",
        server.pid(),
        server.address,
        config.connections,
        config.concurrency,
        config.duration.as_secs(),
        config.seed
    );

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("soak: cannot start a tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = runtime.block_on(soak::run(server.address, server.pid(), &config, |tick| {
        println!("{tick}")
    }));
    // Tasks aborted by a failed run may still hold sockets; they get a moment,
    // not a say in when the process ends.
    runtime.shutdown_timeout(Duration::from_secs(1));

    report.checks.push(match server.stop() {
        Ok(status) => Check::new(
            "the server stops gracefully on SIGTERM",
            true,
            format!("{status}"),
        ),
        Err(error) => Check::new("the server stops gracefully on SIGTERM", false, error),
    });
    println!("{report}");
    if report.passed() {
        println!("soak: PASSED");
        ExitCode::SUCCESS
    } else {
        println!(
            "soak: FAILED (rerun with --seed {} to repeat its choices)",
            report.seed
        );
        ExitCode::FAILURE
    }
}

/// Ends the process at `at` whatever it is doing, killing the server first unless
/// it has been reaped (its pid could then be another process's).
fn hard_stop(at: Instant, server_pid: u32, reaped: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        eprintln!("soak: FAILED: hard stop, the run did not end by itself in time");
        if !reaped.load(Ordering::Acquire) {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &server_pid.to_string()])
                .status();
        }
        std::process::exit(i32::from(HARD_STOPPED));
    });
}

/// The server child process.
struct Server {
    child: Child,
    address: SocketAddr,
    /// Set once the child has been waited for.
    reaped: Arc<AtomicBool>,
}

impl Server {
    /// Starts `example-proto-server` from this executable's directory on a free
    /// port of 127.0.0.1, and waits until it accepts connections.
    fn start() -> Result<Self, String> {
        let path = server_path()?;
        // The port is free when the listener closes; another process could take
        // it before the server binds, which the startup wait then reports.
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("cannot find a free port: {error}"))?;
        let log = std::env::var("SOAK_SERVER_LOG").unwrap_or_else(|_| "warn".to_string());
        let child = Command::new(&path)
            .env("HOST", address.to_string())
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", path.display()))?;
        let mut server = Self {
            child,
            address,
            reaped: Arc::new(AtomicBool::new(false)),
        };
        server.wait_until_accepting()?;
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_until_accepting(&mut self) -> Result<(), String> {
        let pause = Duration::from_millis(50);
        let attempts = STARTUP_TIMEOUT.as_millis() / (pause.as_millis() + 100);
        for _ in 0..attempts {
            if let Some(status) = self.try_wait()? {
                return Err(format!("it exited during startup ({status})"));
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(pause);
        }
        Err(format!(
            "nothing accepted on {} within {STARTUP_TIMEOUT:?}",
            self.address
        ))
    }

    fn try_wait(&mut self) -> Result<Option<ExitStatus>, String> {
        let status = self
            .child
            .try_wait()
            .map_err(|error| format!("cannot wait for the server: {error}"))?;
        if status.is_some() {
            self.reaped.store(true, Ordering::Release);
        }
        Ok(status)
    }

    /// Sends SIGTERM and waits for a successful exit, up to [`STOP_TIMEOUT`]; kills
    /// the server when that fails.
    fn stop(&mut self) -> Result<ExitStatus, String> {
        if let Some(status) = self.try_wait()? {
            return Err(format!(
                "it had exited before the end of the run ({status})"
            ));
        }
        let sent = Command::new("kill")
            .args(["-s", "TERM", &self.pid().to_string()])
            .status();
        match sent {
            Ok(status) if status.success() => {}
            Ok(status) => {
                self.kill();
                return Err(format!("`kill -s TERM` failed ({status}); killed it"));
            }
            Err(error) => {
                self.kill();
                return Err(format!("cannot run `kill -s TERM` ({error}); killed it"));
            }
        }
        let pause = Duration::from_millis(50);
        for _ in 0..STOP_TIMEOUT.as_millis() / pause.as_millis() {
            match self.try_wait()? {
                Some(status) if status.success() => return Ok(status),
                Some(status) => return Err(format!("it exited with {status} after SIGTERM")),
                None => std::thread::sleep(pause),
            }
        }
        self.kill();
        Err(format!(
            "it did not exit within {STOP_TIMEOUT:?} of SIGTERM; killed it"
        ))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        if self.child.wait().is_ok() {
            self.reaped.store(true, Ordering::Release);
        }
    }
}

impl Drop for Server {
    /// A run that ends early must not leave the server behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// `example-proto-server` in this executable's directory.
fn server_path() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|error| format!("cannot find this executable: {error}"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no directory", exe.display()))?;
    let path = dir.join(format!(
        "example-proto-server{}",
        std::env::consts::EXE_SUFFIX
    ));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it with `cargo build --release -p example-proto`",
            path.display()
        ))
    }
}
