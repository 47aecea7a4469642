//! The binaries' command lines: `--version` answers and exits 0; an unknown flag,
//! or a bad value given on the command line or through the environment, exits 2
//! with an error that names the flag.

use std::process::{Command, Output};

const DEMO: &str = env!("CARGO_BIN_EXE_demo");
const SERVER: &str = env!("CARGO_BIN_EXE_example-proto-server");
const CLIENT: &str = env!("CARGO_BIN_EXE_example-proto-client");
const SOAK: &str = env!("CARGO_BIN_EXE_example-proto-soak");

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
    for binary in [DEMO, SERVER, CLIENT, SOAK] {
        let output = run(binary, &["--version"], &[]);
        assert!(output.status.success(), "{binary}: {output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout.trim(),
            concat!("example-proto ", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn an_unknown_flag_is_named() {
    for binary in [DEMO, SERVER, CLIENT, SOAK] {
        assert_names(
            &run(binary, &["--no-such-flag", "1"], &[]),
            "--no-such-flag",
        );
    }
}

#[test]
fn a_bad_value_names_its_flag_in_either_spelling() {
    assert_names(
        &run(CLIENT, &["--stream-percent=101"], &[]),
        "--stream-percent",
    );
    assert_names(&run(DEMO, &["--connections", "0"], &[]), "--connections");
    assert_names(&run(SOAK, &["--duration", "4"], &[]), "--duration");
    assert_names(&run(SERVER, &["--host=nowhere"], &[]), "--host");
}

#[test]
fn a_bad_address_from_the_environment_names_its_flag() {
    assert_names(&run(SERVER, &[], &[("HOST", "nowhere")]), "--host");
    assert_names(&run(CLIENT, &[], &[("ENDPOINT", "nowhere")]), "--endpoint");
}
