//! The binaries' command lines: `--version` answers and exits 0; an unknown flag,
//! a bad value or two flags that exclude each other exit 2 with an error that
//! names the flag.

use std::process::{Command, Output};

const DEMO: &str = env!("CARGO_BIN_EXE_example-messagepack-demo");
const SERVER: &str = env!("CARGO_BIN_EXE_example-messagepack-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_example-messagepack-client");

/// Runs `binary` with `args` and `env` (and no `HOST` or `ENDPOINT` of the test's
/// own). Each run ends at once; one that ignored its flags and went on to run is
/// killed after 10 s by coreutils' `timeout`, and fails the test.
fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", "10", binary])
        .args(args)
        .env_remove("HOST")
        .env_remove("ENDPOINT")
        .envs(env.iter().copied())
        .output()
        .expect("run the binary under timeout")
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
    for binary in [DEMO, SERVER, CLIENT] {
        let output = run(binary, &["--version"], &[]);
        assert!(output.status.success(), "{binary}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout.trim(),
            concat!("example-messagepack ", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn an_unknown_flag_is_named() {
    for binary in [DEMO, SERVER, CLIENT] {
        assert_names(
            &run(binary, &["--no-such-flag", "1"], &[]),
            "--no-such-flag",
        );
    }
}

#[test]
fn a_bad_value_names_its_flag_in_either_spelling() {
    assert_names(&run(CLIENT, &["--iterations=many"], &[]), "--iterations");
    assert_names(&run(DEMO, &["--seconds", "soon"], &[]), "--seconds");
    assert_names(&run(CLIENT, &[], &[("ENDPOINT", "nowhere")]), "--endpoint");
    assert_names(&run(SERVER, &[], &[("HOST", "nowhere")]), "--host");
}

#[test]
fn iterations_and_seconds_exclude_each_other() {
    let output = run(DEMO, &["--iterations", "3", "--seconds", "1"], &[]);
    assert_names(&output, "--iterations");
    assert_names(&output, "--seconds");
}
