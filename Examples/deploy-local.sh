#!/usr/bin/env bash
# Starts a whole swift-query tier on loopback and runs the paper's query through the `query` CLI:
#   2 edge processes × 200 simulated machines (one cluster of 400), 2 proxies, 2 TLAs, 2 SQL nodes.
#
# Usage: Examples/deploy-local.sh [--smoke] [--machines N] [--interval SECONDS] [--base-port PORT] [--run CMD]
#   --smoke  stop every process this script started and exit 0 only if the query answered with rows
#            (for CI and first-time users). Without it, the tier keeps running until Ctrl-C.
#   --run    after the paper's query, run CMD (through bash) with QUERY_BIN, QUERY_WORKDIR, QUERY_INTERVAL,
#            QUERY_SQL_NODES ("host:port host:port"), QUERY_PIDS ("name=pid …") and QUERY_METRICS
#            ("name=host:port …") exported, then stop everything and exit with CMD's status.
# Environment: SWIFT_BUILD_FLAGS (e.g. "-c release"), QUERY_WORKDIR (where configs and logs go),
#   QUERY_PREBUILT (a folder holding query-node and query: skip building).
set -euo pipefail

smoke=0
machines=200
interval=2
base=17000
run_command=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --machines) machines="$2"; shift ;;
        --interval) interval="$2"; shift ;;
        --base-port) base="$2"; shift ;;
        --run) run_command="$2"; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ -n "${QUERY_PREBUILT:-}" ]]; then
    bin="$(cd "$QUERY_PREBUILT" && pwd)"
else
    # shellcheck disable=SC2086
    swift build ${SWIFT_BUILD_FLAGS:-} --product query-node >&2
    # shellcheck disable=SC2086
    swift build ${SWIFT_BUILD_FLAGS:-} --product query >&2
    # shellcheck disable=SC2086
    bin="$(swift build ${SWIFT_BUILD_FLAGS:-} --show-bin-path)"
fi

work="${QUERY_WORKDIR:-$(mktemp -d -t swift-query-local.XXXXXX)}"
mkdir -p "$work"
echo "configs and logs in $work" >&2

pids=()
names=()
metrics_of=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_machines=$((machines * 2))
proxy_port() { echo $((base + 100 + $1)); }
tla_port() { echo $((base + 200 + $1)); }
sql_port() { echo $((base + 300 + $1)); }
metrics_port() { echo $((base + 2000 + $1)); }
common="\"interval\": $interval, \"dropAfter\": $((interval * 6)), \"keepalive\": 1, \"idleTimeout\": 5"
prewarm='"prewarm": ["processes", "software_versions"]'
proxies="\"127.0.0.1:$(proxy_port 0)\", \"127.0.0.1:$(proxy_port 1)\""
tlas="\"127.0.0.1:$(tla_port 0)\", \"127.0.0.1:$(tla_port 1)\""

start() { # role config-file [extra args...]
    local role="$1" config="$2"; shift 2
    # The nodes' heaps on transparent huge pages (fewer TLB misses over large tables; ignored where
    # the kernel has them off), unless the caller chose otherwise.
    GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}" \
        "$bin/query-node" --role "$role" --config "$config" "$@" >"$config.log" 2>&1 &
    pids+=("$!")
    local name
    name="$(basename "$config" .json)"
    names+=("$name=$!")
    metrics_of+=("$name=$(sed -n 's/.*"metrics": "\([^"]*\)".*/\1/p' "$config")")
}

for i in 0 1; do
    cat >"$work/proxy-$i.json" <<JSON
{ "id": "proxy:0.$i", "listen": "127.0.0.1:$(proxy_port $i)", "metrics": "127.0.0.1:$(metrics_port $((10 + i)))",
  "cluster": 0, "machines": $cluster_machines, $common, $prewarm }
JSON
    start proxy "$work/proxy-$i.json"
done
for i in 0 1; do
    other=$((1 - i))
    cat >"$work/tla-$i.json" <<JSON
{ "id": "tla:$i", "listen": "127.0.0.1:$(tla_port $i)", "metrics": "127.0.0.1:$(metrics_port $((20 + i)))",
  "peers": [$proxies], "clusters": [{ "cluster": 0, "proxies": ["proxy:0.$i", "proxy:0.$other"] }],
  $common, "failoverAfter": $((interval * 2)), $prewarm }
JSON
    start tla "$work/tla-$i.json"
done
for i in 0 1; do
    other=$((1 - i))
    cat >"$work/sql-$i.json" <<JSON
{ "id": "sql:$i", "listen": "127.0.0.1:$(sql_port $i)", "metrics": "127.0.0.1:$(metrics_port $((30 + i)))",
  "peers": [$tlas], "aggregators": ["tla:$i", "tla:$other"], $common, "failoverAfter": $((interval * 2)),
  "queryTimeout": $((interval * 4)), "eventTables": ["software_versions"], $prewarm }
JSON
    start sql "$work/sql-$i.json"
done
for i in 0 1; do
    cat >"$work/edge-$i.json" <<JSON
{ "metrics": "127.0.0.1:$(metrics_port $i)", "peers": [$proxies], "cluster": 0,
  "firstMachine": $((i * machines)), "machines": $machines, "seed": 42, $common }
JSON
    start edge "$work/edge-$i.json" --machines "$machines"
done

nodes=(--node "127.0.0.1:$(sql_port 0)" --node "127.0.0.1:$(sql_port 1)")
echo "started ${#pids[@]} processes; waiting for the first generation…" >&2
ready=0
for _ in $(seq 1 120); do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "a node exited early; logs:" >&2
            tail -n 5 "$work"/*.log >&2
            exit 1
        fi
    done
    if out="$("$bin/query" "${nodes[@]}" --timeout 5 --format csv "SELECT count(*) FROM processes" 2>/dev/null)" \
        && [[ "$(echo "$out" | tail -n 1)" =~ ^[1-9][0-9]*$ ]]; then
        echo "first generation: $(echo "$out" | tail -n 1) process rows" >&2
        ready=1
        break
    fi
    sleep 1
done
if [[ $ready -ne 1 ]]; then
    echo "no generation arrived in time; last log lines:" >&2
    tail -n 5 "$work"/*.log >&2
    exit 1
fi

paper="SELECT p.process_name, sv.version, avg(p.rss) avg_memory
FROM processes p, software_versions sv
WHERE p.machine_id = sv.machine_id AND p.uid=5000
GROUP BY 1,2 HAVING avg_memory > 100*1000000;"
echo "$paper"
if ! "$bin/query" "${nodes[@]}" --timeout 20 "$paper"; then
    echo "the paper's query failed" >&2
    exit 1
fi
rows="$("$bin/query" "${nodes[@]}" --timeout 20 --format csv "$paper" | tail -n +2 | grep -c . || true)"

if [[ -n "$run_command" ]]; then
    status=0
    QUERY_BIN="$bin" QUERY_WORKDIR="$work" QUERY_INTERVAL="$interval" \
        QUERY_SQL_NODES="127.0.0.1:$(sql_port 0) 127.0.0.1:$(sql_port 1)" QUERY_PIDS="${names[*]}" \
        QUERY_METRICS="${metrics_of[*]}" bash -c "$run_command" || status=$?
    cleanup
    exit "$status"
fi

if [[ $smoke -eq 1 ]]; then
    cleanup
    if [[ "$rows" -gt 0 ]]; then
        echo "smoke: ok ($rows rows)" >&2
        exit 0
    fi
    echo "smoke: the paper's query returned no rows" >&2
    exit 1
fi
echo "tier running (SQL nodes on ports $(sql_port 0), $(sql_port 1); metrics on $((base + 2000))+). Ctrl-C stops it." >&2
echo "try: $bin/query ${nodes[*]}" >&2
wait
