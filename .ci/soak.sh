#!/usr/bin/env bash
# Soak test of the echo service: builds the server and the soak binary, then runs
# a mixed load (unary, streams, cancellations, deadlines, reconnects) against a
# server child process for $SOAK_SECONDS (default 60) and fails on a lost or wrong
# call, a failed call, or server memory or descriptors that do not stay flat.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p example-proto
target/release/example-proto-soak --duration "${SOAK_SECONDS:-60}"
