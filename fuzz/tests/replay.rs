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
/// On a thread with a 64 MiB stack: rmp-serde recurses once per nesting level of a
/// messagepack value, and a corpus input nests deeper than a test thread's 2 MiB
/// allow (libFuzzer runs targets on the main thread, whose stack is larger).
fn replay(folder: &'static str) -> usize {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || replay_on_this_thread(folder))
        .expect("a replay thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn replay_on_this_thread(folder: &str) -> usize {
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
