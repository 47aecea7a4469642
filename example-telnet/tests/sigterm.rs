//! The server binary shuts down gracefully on SIGTERM (what a service manager
//! sends), as it does on Ctrl-C: it stops and exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_stops_the_server_gracefully() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
        probe.local_addr().expect("address").port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_example-telnet"))
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    // The server logs "listening" once bound: until then a signal could find the
    // default handler.
    let stdout = server.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let listening = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .any(|line| line.contains("listening"));
    assert!(listening, "the server never said it was listening");
    // A connected client: the graceful close must end it too.
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    drop(client);
}
