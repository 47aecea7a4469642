#!/usr/bin/env bash
# example-resp against real Redis clients: a scripted redis-cli session whose
# output must match example-resp/tests/cli/session.expected, then a short
# redis-benchmark run (set and get, pipelined 16 deep) that must report both
# tests with no error. redis-tools (redis-cli, redis-benchmark) is installed
# with apt-get when missing and this runs as root; otherwise the check is
# skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-cli >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq redis-tools >/dev/null
    else
        echo "redis-cli or redis-benchmark missing and cannot install redis-tools here: skipped"
        exit 0
    fi
fi

# The debug build: `cargo test --workspace` has just built it (a release build
# would add minutes to CI), and the check is about replies, not speed.
# RESP_PROFILE=release checks the optimized server instead.
profile="${RESP_PROFILE:-debug}"
if [ "$profile" = release ]; then
    cargo build --release -p example-resp
else
    cargo build -p example-resp
fi
server_bin="${CARGO_TARGET_DIR:-target}/$profile/example-resp"
log="$(mktemp)"
output="$(mktemp)"
"$server_bin" --host 127.0.0.1:0 --workers 2 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log" "$output"' EXIT

# The server logs the address it bound (port 0 picks a free one).
port=""
for _ in $(seq 100); do
    port="$(grep -oE 'listening address=127\.0\.0\.1:[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$log"; echo "the server exited"; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { cat "$log"; echo "the server did not start listening"; exit 1; }
echo "example-resp listening on port $port"

echo "--- redis-cli session"
timeout 30 redis-cli --no-raw -p "$port" <example-resp/tests/cli/session.redis >"$output"
if ! diff -u example-resp/tests/cli/session.expected "$output"; then
    echo "redis-cli output differs from example-resp/tests/cli/session.expected"
    exit 1
fi
echo "matches example-resp/tests/cli/session.expected"

echo "--- redis-benchmark -t set,get -P 16 -q -n 100000"
timeout 120 redis-benchmark -p "$port" -t set,get -P 16 -q -n 100000 2>&1 | tr '\r' '\n' >"$output"
grep 'requests per second' "$output"
if grep -qiE 'error|warning' "$output"; then
    cat "$output"
    echo "redis-benchmark reported an error"
    exit 1
fi
if [ "$(grep -c 'requests per second' "$output")" -ne 2 ]; then
    cat "$output"
    echo "redis-benchmark did not finish both tests"
    exit 1
fi
