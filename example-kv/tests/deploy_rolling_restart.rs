//! Issue 14's "Done when": two `example-kv serve` processes, each in a network
//! namespace the test makes, talk mutual TLS with an `example-kv load` client
//! that finds them by host names only it can resolve (its own `/etc/hosts`, in
//! a private mount namespace), authenticates once per connection with a token,
//! and sees no call fail while each server in turn is stopped (SIGTERM: a
//! graceful drain) and started again on the same address.
//!
//! Where namespaces cannot be made (not root, no `ip`, `nft` or `unshare`), the
//! same runs on loopback, both servers on 127.0.0.1 named `localhost`; the test
//! prints which ran and why. `KV_DEPLOY_LOOPBACK=1` asks for loopback here
//! too.

#[path = "../../example-proto/tests/netns/mod.rs"]
mod netns;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const KV: &str = env!("CARGO_BIN_EXE_example-kv");
/// The longest any one step may take.
const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "rolling-restart-token";
/// The servers' port inside their namespaces.
const PORT: u16 = 7000;
/// The server's progress line that shows the client's calls reach it.
const SERVING: &str = "calls served: 1000";
/// Calls the client must have made for the run to show anything.
const FLOOR: u64 = 1_000;

/// A child process whose stdout lines arrive on a channel (and are echoed to
/// the test's stderr); killed when dropped, whatever ended the test.
struct Process {
    name: String,
    child: Child,
    lines: Receiver<String>,
}

impl Process {
    fn start(name: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("start {name}: {error}"));
        let stdout = child.stdout.take().expect("a piped stdout");
        let (send, lines) = mpsc::channel();
        let tag = name.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name: name.to_owned(),
            child,
            lines,
        }
    }

    /// The next line that starts with `prefix`, within [`WAIT`].
    fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: no {prefix:?} line within {WAIT:?}", self.name)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{}: exited before a {prefix:?} line", self.name)
                }
            }
        }
    }

    /// Sends SIGTERM, waits for the line starting with `last`, and for the
    /// process to exit; the line and the exit status.
    fn stop(&mut self, last: &str) -> (String, ExitStatus) {
        let kill = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success(), "{}: kill -TERM failed", self.name);
        let line = self.wait_for(last);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (line, status);
            }
            assert!(
                Instant::now() < deadline,
                "{}: did not exit within {WAIT:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory of the test's own, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the servers run and how the client finds them.
enum Placement {
    /// Each server in a namespace of its own; the client resolves
    /// `kv-a.test` and `kv-b.test` from its own hosts file.
    Namespaces {
        servers: [netns::Namespace; 2],
        hosts: PathBuf,
    },
    /// Both servers on 127.0.0.1, the client dialing `localhost`.
    Loopback,
}

const NAMES: [&str; 2] = ["kv-a.test", "kv-b.test"];

impl Placement {
    /// Namespaces when this machine allows them, else loopback and why.
    fn choose(scratch: &Path) -> (Self, String) {
        let namespaces = (|| {
            if std::env::var_os("KV_DEPLOY_LOOPBACK").is_some() {
                return Err("KV_DEPLOY_LOOPBACK is set".to_owned());
            }
            let unshare = Command::new("unshare")
                .args(["-m", "true"])
                .stderr(Stdio::null())
                .status()
                .map_err(|error| format!("cannot run unshare: {error}"))?;
            if !unshare.success() {
                return Err("`unshare -m` is not allowed".to_owned());
            }
            Ok([netns::Namespace::create()?, netns::Namespace::create()?])
        })();
        match namespaces {
            Ok(servers) => {
                let hosts = scratch.join("hosts");
                let lines: Vec<String> = (servers.iter().zip(NAMES))
                    .map(|(namespace, name)| format!("{} {name}\n", namespace.theirs))
                    .collect();
                std::fs::write(&hosts, lines.concat()).expect("write the client's hosts file");
                let mode = format!(
                    "network namespaces: {} at {}, {} at {}, names only the client resolves",
                    NAMES[0], servers[0].theirs, NAMES[1], servers[1].theirs
                );
                (Placement::Namespaces { servers, hosts }, mode)
            }
            Err(reason) => (
                Placement::Loopback,
                format!("loopback (no network namespaces here: {reason})"),
            ),
        }
    }

    /// Where server `which` (0 or 1) listens first.
    fn listen(&self, which: usize) -> String {
        match self {
            Placement::Namespaces { servers, .. } => format!("{}:{PORT}", servers[which].theirs),
            Placement::Loopback => "127.0.0.1:0".to_owned(),
        }
    }

    /// The command running `example-kv serve` for server `which` on `listen`.
    fn server(&self, which: usize, listen: &str, certs: &Path) -> Command {
        let mut command = match self {
            Placement::Namespaces { servers, .. } => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", &servers[which].name, KV]);
                command
            }
            Placement::Loopback => Command::new(KV),
        };
        command.args(["serve", "--listen", listen, "--drain-timeout-ms", "2000"]);
        let files = [
            ("--tls-cert", "server.pem"),
            ("--tls-key", "server.key"),
            ("--client-ca", "ca.pem"),
        ];
        with_tls_and_token(command, certs, files)
    }

    /// The command running `example-kv load` against `endpoints`.
    fn client(&self, endpoints: &str, certs: &Path) -> Command {
        let mut command = match self {
            Placement::Namespaces { hosts, .. } => {
                // A private mount namespace: the bind mount is the client's
                // alone, and the machine's /etc/hosts never changes.
                let mut command = Command::new("unshare");
                command
                    .args([
                        "-m",
                        "sh",
                        "-c",
                        r#"mount --bind "$0" /etc/hosts && exec "$@""#,
                    ])
                    .arg(hosts)
                    .arg(KV);
                command
            }
            Placement::Loopback => Command::new(KV),
        };
        command.args(["load", "--endpoints", endpoints, "--concurrency", "16"]);
        let files = [
            ("--ca", "ca.pem"),
            ("--cert", "client.pem"),
            ("--key", "client.key"),
        ];
        with_tls_and_token(command, certs, files)
    }
}

/// `command` with `flag certs/file` for each of `files`, and the token.
fn with_tls_and_token(mut command: Command, certs: &Path, files: [(&str, &str); 3]) -> Command {
    for (flag, file) in files {
        command.arg(flag).arg(certs.join(file));
    }
    command.env("KV_TOKEN", TOKEN);
    command
}

/// What a server's exit line says: (calls, connections, token checks).
fn served(line: &str) -> (u64, u64, u64) {
    let numbers: Vec<u64> = line
        .split(' ')
        .filter_map(|word| word.parse().ok())
        .collect();
    match numbers[..] {
        [calls, connections, checks] => (calls, connections, checks),
        _ => panic!("not a server's exit line: {line:?}"),
    }
}

/// Stops a server, checks it drained cleanly, and returns what it served.
fn stop_server(server: &mut Process) -> (u64, u64, u64) {
    let (line, status) = server.stop("served ");
    assert!(status.success(), "{}: {status}", server.name);
    let (calls, connections, checks) = served(&line);
    assert!(
        checks >= 1 && checks <= connections,
        "{}: {checks} token checks for {connections} connections",
        server.name
    );
    assert!(
        calls > 10 * checks,
        "{}: {calls} calls for {checks} token checks: not once per connection",
        server.name
    );
    (calls, connections, checks)
}

/// Starts server `which` on `listen` and waits until it accepts; where it
/// listens.
fn start_server(
    placement: &Placement,
    which: usize,
    listen: &str,
    certs: &Path,
    name: &str,
) -> (Process, String) {
    let server = Process::start(name, placement.server(which, listen, certs));
    let line = server.wait_for("listening on ");
    let address = line
        .trim_start_matches("listening on ")
        .split(' ')
        .next()
        .expect("an address")
        .to_owned();
    (server, address)
}

#[test]
fn two_servers_restart_in_turn_under_mutual_tls_load_and_no_call_fails() {
    let started = Instant::now();
    let scratch = Scratch(std::env::temp_dir().join(format!("kv-deploy-{}", std::process::id())));
    let certs = scratch.0.join("certs");
    let made = Command::new(KV)
        .args(["certs", "--names", &NAMES.join(",")])
        .arg("--out")
        .arg(&certs)
        .stdout(Stdio::null())
        .status()
        .expect("run example-kv certs");
    assert!(made.success(), "example-kv certs: {made}");

    let (placement, mode) = Placement::choose(&scratch.0);
    println!("mode: {mode}");

    let (mut a, a_address) = start_server(&placement, 0, &placement.listen(0), &certs, "a");
    let (mut b, b_address) = start_server(&placement, 1, &placement.listen(1), &certs, "b");
    let endpoints = match placement {
        Placement::Namespaces { .. } => format!("{}:{PORT},{}:{PORT}", NAMES[0], NAMES[1]),
        Placement::Loopback => [&a_address, &b_address]
            .map(|address| address.replace("127.0.0.1", "localhost"))
            .join(","),
    };
    let mut client = Process::start("load", placement.client(&endpoints, &certs));
    client.wait_for("ready");
    for server in [&a, &b] {
        server.wait_for(SERVING);
    }

    // Each server in turn: drained and stopped, then started again on the
    // same address, and serving the client's calls before the next one goes.
    let mut figures = Vec::new();
    for (which, address) in [(0, a_address), (1, b_address)] {
        let server = if which == 0 { &mut a } else { &mut b };
        figures.push((format!("{} (first)", server.name), stop_server(server)));
        let name = format!("{} again", server.name);
        let (again, _) = start_server(&placement, which, &address, &certs, &name);
        again.wait_for(SERVING);
        *server = again;
    }

    let (line, status) = client.stop("calls made ");
    for server in [&mut a, &mut b] {
        figures.push((server.name.clone(), stop_server(server)));
    }
    println!("{line} ({mode}, {:?})", started.elapsed());
    for (name, (calls, connections, checks)) in &figures {
        println!(
            "server {name}: {calls} calls on {connections} connections, {checks} token checks"
        );
    }
    assert!(status.success(), "load: {status}: {line}");
    let words: Vec<u64> = line
        .split([' ', ','])
        .filter_map(|word| word.parse().ok())
        .collect();
    let [calls, failed] = words[..] else {
        panic!("not the client's last line: {line:?}")
    };
    assert_eq!(failed, 0, "calls failed during the rolling restart");
    assert!(calls > FLOOR, "only {calls} calls made");
    let answered: u64 = figures.iter().map(|(_, (calls, _, _))| calls).sum();
    assert_eq!(
        answered, calls,
        "the servers answered every call the client made, once"
    );
}
