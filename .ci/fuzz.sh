#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target in fuzz/ for FUZZ_SECONDS (default 60) each,
# FUZZ_JOBS (default 2) at a time, starting from the committed corpus and the
# saved regressions. Fails if any target crashes, breaks an invariant, times out
# or runs out of memory; the input that did it is left in fuzz/artifacts/<target>/
# and the target's log is printed.
#
# libFuzzer only adds inputs to a copy of the corpus: the committed one changes
# only when someone minimizes a grown copy into it (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0
# cargo-fuzz passes nightly-only flags (sanitizers, coverage instrumentation);
# this lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1

seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-2}"
# No sanitizer by default: the crates under test have no unsafe code of their own
# (k-lock's, behind spillway, has loom models), the harnesses' assertions and the
# build's debug assertions and overflow checks are the oracle, and without
# AddressSanitizer the build takes half the time and a minute runs several times
# the inputs. FUZZ_SANITIZER=address brings it back.
sanitizer="${FUZZ_SANITIZER:-none}"

step() {
    echo
    echo "=== $1 ($(date -u +%H:%M:%S))"
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    step "install cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

step "build"
cargo fuzz build --sanitizer "$sanitizer"

# The largest input libFuzzer makes, per target: a connection needs more than its
# smallest receive buffer (4 KiB) to fill it.
max_len() {
    case "$1" in
        connection) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs one target; its output goes to $work/<target>.log, its exit code to
# $work/<target>.status.
fuzz_target() {
    local target="$1"
    local corpus="$work/corpus/$target"
    mkdir -p "$corpus"
    cp -R "fuzz/corpus/$target/." "$corpus/"
    local dirs=("$corpus")
    if [ -d "fuzz/regressions/$target" ]; then
        dirs+=("fuzz/regressions/$target")
    fi
    local status=0
    # The build's flags again, or cargo fuzz would build the target anew.
    cargo fuzz run --sanitizer "$sanitizer" "$target" "${dirs[@]}" -- \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len="$(max_len "$target")" \
        -print_final_stats=1 \
        >"$work/$target.log" 2>&1 || status=$?
    echo "$status" >"$work/$target.status"
}

targets=(prost_decoder messagepack_decoder line_codec connection)
step "fuzz ${targets[*]} for ${seconds}s each, $jobs at a time"
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    fuzz_target "$target" &
done
wait

failed=()
for target in "${targets[@]}"; do
    status="$(cat "$work/$target.status")"
    if [ "$status" = 0 ]; then
        step "$target: ok"
        # The run's summary: executions, speed, coverage, corpus size.
        grep -E '^(#[0-9]+[[:space:]]+DONE|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb))' \
            "$work/$target.log" || true
    else
        step "$target: FAILED (exit $status)"
        # What broke (a panic's message, or libFuzzer's verdict on a timeout or an
        # out-of-memory), then the input and how to reproduce it.
        grep -E -m 3 -A 2 'panicked at|ERROR: libFuzzer' "$work/$target.log" || true
        echo "..."
        tail -n 25 "$work/$target.log"
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    step "failed: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
step "done"
