#!/usr/bin/env bash
# example-resp against redis-server, with redis-benchmark, in one run.
#
#   bash benches/resp.sh            # N=1000000 requests per workload
#   N=200000 bash benches/resp.sh
#
# Starts redis-server (--save '' --appendonly no) and example-resp on loopback
# (one worker on the klock store, then two workers on the sharded store and on
# the klock store), each on a port of its own, and runs the same redis-benchmark
# workloads against each: SET, GET, INCR and MGET (10 keys), -c 50 clients, at -P 1 and -P 16,
# keys drawn from -r $KEYSPACE (default 100000). redis-benchmark 7.0 has no
# `-t mget` test, so MGET runs as a given command (MGET of 10 random keys).
#
# CPU placement on a 2-core machine: each single-threaded server (redis-server,
# example-resp --workers 1) is pinned to CPU 0 and redis-benchmark to CPU 1, so
# neither steals the other's core. example-resp --workers 2 gets both CPUs
# (0,1) and so shares CPU 1 with redis-benchmark: its row shows what a second
# worker buys when the load generator needs a core too.
#
# Per row: requests/s, p50 and p99 latency (ms) as redis-benchmark --csv reports
# them, and the server's CPU time per request (utime + stime from
# /proc/PID/stat, before and after the workload, over the requests).
#
# Installs redis-server and redis-tools with apt-get when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-1000000}"
KEYSPACE="${KEYSPACE:-100000}"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || missing+=(redis-tools)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing ${missing[*]}; install them (apt-get install ${missing[*]}) and run again" >&2
        exit 1
    fi
fi

cargo build --release -p example-resp >&2
resp_bin="${CARGO_TARGET_DIR:-target}/release/example-resp"
ticks_per_second="$(getconf CLK_TCK)"
if [ "$(nproc)" -ge 2 ]; then
    server_cpu=0
    bench_cpu=1
    both_cpus=0,1
else
    echo "one CPU: servers and redis-benchmark share it" >&2
    server_cpu=0
    bench_cpu=0
    both_cpus=0
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# A port nothing listens on.
free_port() {
    local port
    for port in $(seq 16380 16480); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "no free port in 16380-16480" >&2
    exit 1
}

# Waits until a server answers PING on $1.
wait_ready() {
    for _ in $(seq 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

# CPU time (clock ticks, user + system) of process $1 so far.
cpu_ticks() {
    # Fields after the command name, which is in parentheses and may hold spaces:
    # utime and stime are the 12th and 13th.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

rows=()

# bench LABEL PID PORT PIPELINE: every workload against one server.
bench() {
    local label=$1 pid=$2 port=$3 pipeline=$4
    local workload before after line name rps p50 p99 cpu
    for workload in set get incr mget; do
        local command=(-t "$workload")
        if [ "$workload" = mget ]; then
            command=(MGET)
            for _ in $(seq 10); do command+=("key:__rand_int__"); done
        fi
        before="$(cpu_ticks "$pid")"
        line="$(taskset -c "$bench_cpu" redis-benchmark -p "$port" -n "$N" -c 50 -P "$pipeline" \
            -r "$KEYSPACE" --csv "${command[@]}" 2>&1 | tr '\r' '\n' | grep -E '^"[A-Z]' | tail -n 1)"
        after="$(cpu_ticks "$pid")"
        if [ -z "$line" ]; then
            echo "redis-benchmark printed no result for $workload against $label" >&2
            exit 1
        fi
        # "test","rps","avg","min","p50","p95","p99","max"
        IFS=, read -r name rps _ _ p50 _ p99 _ <<<"${line//\"/}"
        cpu="$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$N" \
            'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
        rows+=("| $label | ${workload^^} | $pipeline | $rps | $p50 | $p99 | $cpu |")
        echo "$label ${workload^^} -P $pipeline: $rps requests/s, p50 $p50 ms, p99 $p99 ms, $cpu us CPU per request" >&2
    done
}

redis_port="$(free_port)"
taskset -c "$server_cpu" redis-server --port "$redis_port" --save '' --appendonly no \
    --daemonize no --logfile /dev/null &
redis_pid=$!
pids+=("$redis_pid")
wait_ready "$redis_port"
redis_version="$(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2)"

# One worker on the klock store (its default), two workers on each store.
for config in "1 klock" "2 sharded" "2 klock"; do
    read -r workers store <<<"$config"
    cpus="$server_cpu"
    [ "$workers" = 2 ] && cpus="$both_cpus"
    resp_port="$(free_port)"
    taskset -c "$cpus" "$resp_bin" --host "127.0.0.1:$resp_port" --workers "$workers" \
        --store "$store" >/dev/null 2>&1 &
    resp_pid=$!
    pids+=("$resp_pid")
    wait_ready "$resp_port"
    for pipeline in 1 16; do
        if [ "$workers" = 1 ]; then
            bench "redis-server $redis_version (CPU $server_cpu)" "$redis_pid" "$redis_port" "$pipeline"
        fi
        bench "example-resp --workers $workers --store $store (CPU $cpus)" "$resp_pid" "$resp_port" "$pipeline"
    done
    kill "$resp_pid"
    wait "$resp_pid" 2>/dev/null || true
done

echo
echo "redis-benchmark -n $N -c 50 -r $KEYSPACE, on CPU $bench_cpu; $(nproc) CPUs"
echo
echo "| server | test | -P | requests/s | p50 ms | p99 ms | server CPU µs/request |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
