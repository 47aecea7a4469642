//! The demo binary: it runs in one command, makes every kind of call, prints
//! what each answered and finishes by itself; `--version` answers and a bad
//! flag is named.

use std::process::{Command, Output};

const DEMO: &str = env!("CARGO_BIN_EXE_example-kv");

/// Runs the demo with `args` (and no `HOST` of the test's own); one that hangs
/// is killed after 30 s by coreutils' `timeout`, and fails the test.
fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "30", DEMO])
        .args(args)
        .env_remove("HOST")
        .output()
        .expect("run the demo under timeout")
}

#[test]
fn the_demo_makes_every_kind_of_call_and_finishes() {
    let output = run(&["--ttl-ms", "50"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{output:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "set user:1 = \"ada\": replaced false",
        "get user:1 = \"ada\"",
        "get user:9: error: NOT_FOUND: no value for key \"user:9\"",
        "get \"\": error: INVALID_ARGUMENT: the key is empty",
        "scan user: -> user:3 = \"linus\"",
        "delete user:2: deleted true",
        "served-by kv-demo",
        "get session:1 after 50 ms: error: NOT_FOUND",
        "watch user: started",
        "bulk load user:4, team:2, user:1: loaded 3, replaced 1",
        "watch user: -> user:4 = \"barbara\"",
        "watch user: -> user:1 = \"ada lovelace\"",
        "bulk load user:5, \"\": error: INVALID_ARGUMENT: the key is empty",
        "watch user: -> user:5 = \"edsger\"",
        "server shut down",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("team:2 ="),
        "the watch saw a key it does not watch:\n{stdout}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = run(&["--version"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        concat!("example-kv ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_flag_is_named() {
    for (args, flag) in [
        (&["--no-such-flag"][..], "--no-such-flag"),
        (&["--ttl-ms", "soon"][..], "--ttl-ms"),
        (&["--host", "nowhere"][..], "--host"),
    ] {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(flag), "{flag} is not named: {stderr}");
    }
}

#[test]
fn the_demo_authenticates_with_a_token() {
    let output = run(&["--ttl-ms", "50", "--token", "open sesame"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}\n{stdout}");
    for line in [
        "every connection authenticates with the token, once",
        "get user:1 = \"ada\"",
        "server shut down",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
}

#[test]
fn health_exits_zero_only_while_the_server_is_serving() {
    use protosocket_rpc::health::{HealthReporter, HealthStatus};
    use protosocket_rpc::server::RpcServerConfig;

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let health = HealthReporter::new();
    let config = RpcServerConfig::default().health_reporter(health.clone());
    let server = runtime
        .block_on(async {
            example_kv::deploy::start_server_with(
                "127.0.0.1:0".parse().expect("endpoint"),
                example_kv::KvService::default(),
                config,
            )
        })
        .expect("bind");
    let endpoint = server.local_endpoint().to_string();
    let probe = |extra: &[&str]| {
        let mut args = vec!["health", "--endpoint", endpoint.as_str()];
        args.extend_from_slice(extra);
        run(&args)
    };

    let serving = probe(&[]);
    assert!(serving.status.success(), "{serving:?}");
    assert_eq!(String::from_utf8_lossy(&serving.stdout).trim(), "SERVING");
    let unknown = probe(&["--service", "nothing"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert_eq!(String::from_utf8_lossy(&unknown.stdout).trim(), "UNKNOWN");

    health.set("", HealthStatus::NotServing);
    let down = probe(&[]);
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert_eq!(String::from_utf8_lossy(&down.stdout).trim(), "NOT_SERVING");

    runtime.block_on(server.shutdown());
    let gone = probe(&[]);
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    assert!(String::from_utf8_lossy(&gone.stdout).starts_with("UNREACHABLE"));
}

#[test]
fn a_missing_or_empty_pem_file_is_named() {
    let empty = std::env::temp_dir().join(format!("kv-cli-empty-{}.pem", std::process::id()));
    std::fs::write(&empty, "no certificate here\n").expect("write a file");
    let empty = empty.to_str().expect("a utf-8 path").to_owned();
    for (args, file) in [
        (
            vec!["serve", "--listen", "127.0.0.1:0"]
                .into_iter()
                .chain(["--tls-cert", "/nonexistent/server.pem"])
                .chain(["--tls-key", "/nonexistent/server.key"])
                .collect::<Vec<_>>(),
            "/nonexistent/server.pem",
        ),
        (
            vec!["load", "--endpoints", "localhost:1", "--ca", &empty],
            empty.as_str(),
        ),
    ] {
        let output = run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(file), "{file} is not named: {stderr}");
    }
    let _ = std::fs::remove_file(&empty);
}

#[test]
fn a_load_with_every_server_down_pauses_after_each_failed_call() {
    // Nothing listens on port 1: every call fails at once. Each of the 4
    // callers waits 10 ms after a failed call, so in the run (0.5 s, which a
    // slow machine may stretch) each makes tens of calls, not the hundreds of
    // thousands a caller without the pause makes.
    let output = run(&[
        "load",
        "--endpoints",
        "127.0.0.1:1",
        "--concurrency",
        "4",
        "--seconds",
        "0.5",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let line = stdout
        .lines()
        .find(|line| line.starts_with("calls made "))
        .unwrap_or_else(|| panic!("no tally in {stdout}"));
    let counts: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [made, failed] = counts[..] else {
        panic!("unexpected tally {line}");
    };
    assert_eq!(made, failed, "{line}");
    assert!(made > 0, "{line}");
    // The run lasts 0.5 s; a caller makes one call per 10 ms at most. The
    // bound allows the run ten times that long.
    assert!(made <= 4 * 51 * 10, "the callers did not pause: {line}");
}
