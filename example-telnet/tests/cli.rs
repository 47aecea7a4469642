//! The binary's command line: `--version` answers and exits 0; an unknown flag or
//! a flag without its value exits 2 with an error that names the flag.

use std::process::{Command, Output};

/// Runs the server binary with `args` (and no `HOST` of the test's own). Each run
/// ends at once; a server that ignored its flags and went on to listen is killed
/// after 10 s by coreutils' `timeout`, and fails the test.
fn run(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "10", env!("CARGO_BIN_EXE_example-telnet")])
        .args(args)
        .env_remove("HOST")
        .output()
        .expect("run the server under timeout")
}

/// Exit status 2 and an error on stderr that names `flag`.
fn assert_names(output: &Output, flag: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(flag),
        "the error does not name {flag}: {stderr}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = run(&["--version"]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        concat!("example-telnet ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_flag_is_named() {
    assert_names(&run(&["--no-such-flag=1"]), "--no-such-flag");
}

#[test]
fn a_flag_without_its_value_is_named() {
    assert_names(&run(&["--host"]), "--host");
}
