//! Replays the committed inputs through the harnesses on a stable toolchain,
//! without libFuzzer: every corpus input, and every saved regression (each one
//! crashed a target once; it must pass once the bug is fixed).

use std::fs;
use std::path::Path;

type Harness = fn(&[u8]);

const TARGETS: [(&str, Harness); 4] = [
    ("prost_decoder", protosocket_fuzz::prost_decoder::run),
    (
        "messagepack_decoder",
        protosocket_fuzz::messagepack_decoder::run,
    ),
    ("line_codec", protosocket_fuzz::line_codec::run),
    ("connection", protosocket_fuzz::connection::run),
];

/// Runs every file under `folder/<target>/` through its target; returns how many.
fn replay(folder: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let Ok(entries) = fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable folder").path();
            let input = fs::read(&path).expect("a readable input");
            println!("{}", path.display());
            run(&input);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn corpus() {
    assert!(replay("corpus") > 0, "the corpus is empty");
}

#[test]
fn regressions() {
    replay("regressions");
}
