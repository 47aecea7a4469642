//! The binary's command line: `--version` answers and exits 0; an unknown flag,
//! a flag without its value, an unknown store or `--workers 0` exits 2 with an
//! error that names it.

use std::process::{Command, Output};

/// Runs the server binary with `args` (and no `HOST` of the test's own). Each run
/// ends at once; a server that ignored its flags and went on to listen is killed
/// after 10 s by coreutils' `timeout`, and fails the test.
fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "10", env!("CARGO_BIN_EXE_example-resp")])
        .args(args)
        .env_remove("HOST")
        .output()
        .expect("run the server under timeout")
}

/// Exit status 2 and an error on stderr that names `what`.
fn assert_names(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(what),
        "the error does not name {what}: {stderr}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = run(&["--version"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        concat!("example-resp ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_are_named() {
    assert_names(&run(&["--no-such-flag=1"]), "--no-such-flag");
    assert_names(&run(&["--requirepass"]), "--requirepass");
    assert_names(&run(&["--store", "btree"]), "btree");
    assert_names(&run(&["--workers", "many"]), "many");
}

#[test]
fn zero_workers_is_refused() {
    let output = run(&["--workers", "0"]);
    assert_names(&output, "--workers");
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least one worker"));
}
