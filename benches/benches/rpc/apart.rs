//! Client and server apart, each on a current-thread runtime of its own: on two
//! threads of this process, or with the server in a child process; and how each
//! side's counters are read from the client's thread.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc as std_mpsc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::cpu::{clock_time, cpu_time, current_thread_runtime, pin, this_thread_clock, Placement};
use crate::{drive, serve, Kind, Reading, Row, Span, Usage};

/// A thread's voluntary context switches, from its `/proc/.../status`.
fn sleeps(status: &str) -> u64 {
    let text = std::fs::read_to_string(status).unwrap_or_else(|error| panic!("{status}: {error}"));
    text.lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("{status}: no voluntary_ctxt_switches"))
}

/// How to ask a side's runtime for its park count.
enum Parks {
    /// A runtime of this process; its metrics can be read from any thread.
    Here(Handle),
    /// The child's runtime: a line asking on its stdin, the count on its stdout.
    Child(RefCell<(ChildStdin, BufReader<ChildStdout>)>),
}

/// Reads one side's counters from the client's thread.
struct Gauge {
    /// The side's CPU-time clock: its runtime thread's, or the child process's.
    clock: libc::clockid_t,
    /// The `/proc` status file of the side's runtime thread.
    status: String,
    parks: Parks,
}

impl Gauge {
    /// The calling thread, which runs a runtime's `block_on`.
    fn this_thread() -> Gauge {
        let clock = this_thread_clock();
        // SAFETY: `gettid` has no preconditions.
        let tid = unsafe { libc::gettid() };
        Gauge {
            clock,
            status: format!("/proc/self/task/{tid}/status"),
            parks: Parks::Here(Handle::current()),
        }
    }

    /// The child process `pid`, whose runtime runs on its main thread.
    fn child(pid: u32, stdin: ChildStdin, stdout: BufReader<ChildStdout>) -> Gauge {
        let mut clock = 0;
        // SAFETY: `clock` is writable; a pid that is not a live process is an
        // error return, not undefined behaviour.
        let status = unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) };
        assert_eq!(status, 0, "clock_getcpuclockid");
        Gauge {
            clock,
            status: format!("/proc/{pid}/task/{pid}/status"),
            parks: Parks::Child(RefCell::new((stdin, stdout))),
        }
    }

    /// Whether the side's CPU time is part of this process's.
    fn here(&self) -> bool {
        matches!(self.parks, Parks::Here(_))
    }

    fn read(&self) -> Usage {
        let parks = match &self.parks {
            Parks::Here(handle) => handle.metrics().worker_park_count(0),
            Parks::Child(pipe) => {
                let (stdin, stdout) = &mut *pipe.borrow_mut();
                writeln!(stdin, "parks").expect("ask the server process");
                let mut line = String::new();
                stdout.read_line(&mut line).expect("server process answers");
                line.trim().parse().expect("a park count")
            }
        };
        Usage {
            cpu: clock_time(self.clock),
            parks,
            sleeps: sleeps(&self.status),
        }
    }
}

/// Runs the load on a thread of its own, on a current-thread runtime, against
/// the server at `address` whose counters `server` reads.
fn client(
    kind: Kind,
    address: SocketAddr,
    concurrency: usize,
    span: Span,
    cpu: Option<usize>,
    server: Gauge,
) -> Row {
    let thread = std::thread::Builder::new()
        .name(format!("{} client", kind.name()))
        .spawn(move || {
            pin(cpu);
            current_thread_runtime().block_on(async move {
                let client = Gauge::this_thread();
                let probe = || {
                    let client_usage = client.read();
                    let server_usage = server.read();
                    // Read last, so it covers the threads' times read before it.
                    let process = cpu_time();
                    let sides = if server.here() {
                        client_usage.cpu + server_usage.cpu
                    } else {
                        client_usage.cpu
                    };
                    Reading {
                        client: client_usage,
                        server: server_usage,
                        rest: process.saturating_sub(sides),
                    }
                };
                drive(kind, address, concurrency, span, &probe).await
            })
        })
        .expect("spawn client thread");
    thread.join().expect("client thread")
}

/// One run with the server on a thread of this process.
pub(crate) fn threads(kind: Kind, concurrency: usize, span: Span, placement: Placement) -> Row {
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = std::thread::Builder::new()
        .name(format!("{} server", kind.name()))
        .spawn(move || {
            pin(placement.server);
            current_thread_runtime().block_on(async move {
                let server = serve(kind).await;
                ready_tx
                    .send((server.address, Gauge::this_thread()))
                    .expect("bench waits for its server");
                let _ = stop_rx.await;
                (server.stop)().await;
            });
        })
        .expect("spawn server thread");
    let (address, gauge) = ready_rx.recv().expect("server thread started");
    let row = client(kind, address, concurrency, span, placement.client, gauge);
    let _ = stop_tx.send(());
    server.join().expect("server thread");
    row
}

/// One run with the server in a child process: this executable with `--serve`.
pub(crate) fn processes(kind: Kind, concurrency: usize, span: Span, placement: Placement) -> Row {
    let mut command = Command::new(std::env::current_exe().expect("this executable"));
    command.args(["--serve", kind.name()]);
    // A TLS server presents the certificate this process's client trusts.
    crate::tls::export(&mut command);
    if let Some(cpu) = placement.server {
        command.args(["--cpu", &cpu.to_string()]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server process");
    let stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("server process starts");
    let address: SocketAddr = line.trim().parse().expect("server address");
    let gauge = Gauge::child(child.id(), stdin, stdout);
    // The client thread drops the gauge, closing the child's stdin: its cue to stop.
    let row = client(kind, address, concurrency, span, placement.client, gauge);
    let status = child.wait().expect("server process");
    assert!(status.success(), "server process: {status}");
    row
}

/// The child's side of [`processes`]: serves on a current-thread runtime on the
/// main thread, prints its address, answers `parks` lines on stdin with the
/// runtime's park count, and stops when stdin closes.
pub(crate) fn serve_child(kind: Kind, cpu: Option<usize>) {
    pin(cpu);
    let runtime = current_thread_runtime();
    let handle = runtime.handle().clone();
    runtime.block_on(async move {
        let server = serve(kind).await;
        println!("{}", server.address);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        // A thread of its own, so that the runtime's thread does nothing but serve.
        std::thread::spawn(move || {
            let mut out = std::io::stdout();
            for line in std::io::stdin().lock().lines() {
                match line.as_deref() {
                    Ok("parks") => {
                        let parks = handle.metrics().worker_park_count(0);
                        writeln!(out, "{parks}").expect("answer the bench");
                        out.flush().expect("answer the bench");
                    }
                    Ok(other) => panic!("unexpected request {other:?}"),
                    Err(_) => break,
                }
            }
            let _ = stop_tx.send(());
        });
        let _ = stop_rx.await;
        (server.stop)().await;
    });
}
