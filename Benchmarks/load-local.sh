#!/usr/bin/env bash
# Load benchmark of a local deployment (issue 5): starts the tier of Examples/deploy-local.sh on loopback
# (2 edge processes × 200 machines, 2 proxies, 2 TLAs, 2 SQL nodes; generations every 5 s), waits for the
# first generation, then sends 250 queries per second for 60 s of a cached-table query mix to both SQL
# nodes from `query --load-rate` (open loop: latency counts from each query's due time), and prints
# `name value unit` lines:
#   load.p50_ms, load.p99_ms, load.generations_missed (and the generator's other figures),
#   load.data_latency_* (age of the oldest row in answers), load.cpu_<tier>_percent (of one core, from
#   /proc/<pid>/stat before and after), load.wire_bytes_per_generation[_<tier>] (transport bytes out,
#   from the nodes' Prometheus metrics). Every process is stopped on exit.
#
# Usage: Benchmarks/load-local.sh [--rate N] [--duration S] [--interval S] [--machines N] [--base-port P]
# Environment: SWIFT_BUILD_FLAGS (default "-c release").
set -euo pipefail

rate=250
duration=60
interval=5
machines=200
base=17500
if [[ "${1:-}" == "--inside" ]]; then inside=1; shift; else inside=0; fi
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rate) rate="$2"; shift ;;
        --duration) duration="$2"; shift ;;
        --interval) interval="$2"; shift ;;
        --machines) machines="$2"; shift ;;
        --base-port) base="$2"; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done

root="$(cd "$(dirname "$0")/.." && pwd)"

if [[ $inside -eq 0 ]]; then
    export SWIFT_BUILD_FLAGS="${SWIFT_BUILD_FLAGS:--c release}"
    # deploy-local.sh starts the tier, stops it on exit (trap), and runs this script again inside it.
    exec "$root/Examples/deploy-local.sh" --machines "$machines" --interval "$interval" --base-port "$base" \
        --run "$root/Benchmarks/load-local.sh --inside --rate $rate --duration $duration --interval $interval" >&2
fi

# --- inside the running tier -------------------------------------------------------------------------
: "${QUERY_BIN:?run through Benchmarks/load-local.sh}"
work="$QUERY_WORKDIR"
mix="$work/load-queries.sql"
cat >"$mix" <<'SQL'
SELECT p.process_name, sv.version, avg(p.rss) avg_memory
FROM processes p, software_versions sv
WHERE p.machine_id = sv.machine_id AND p.uid=5000
GROUP BY 1,2 HAVING avg_memory > 100*1000000;
SELECT count(*) FROM processes;
SELECT process_name, count(*) AS n, max(rss) FROM processes GROUP BY process_name ORDER BY n DESC LIMIT 10;
SELECT machine_id, sum(rss) AS total FROM processes GROUP BY machine_id ORDER BY total DESC LIMIT 5;
SELECT version, count(DISTINCT machine_id) FROM software_versions GROUP BY version;
SELECT count(*) FROM processes WHERE rss > 500000000 AND uid = 5000;
SELECT software, version, count(*) FROM software_versions GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5;
SELECT state, avg(cpu), sum(threads) FROM processes WHERE process_name LIKE 'a%' GROUP BY state;
SQL
# Keep only queries the deployment answers (the workload's columns decide).
checked="$work/load-queries-checked.sql"
: >"$checked"
while IFS= read -r -d ';' query; do
    query="$(echo "$query" | sed '/^[[:space:]]*$/d')"
    [[ -z "$query" ]] && continue
    if "$QUERY_BIN/query" --node "${QUERY_SQL_NODES%% *}" --timeout 10 --format csv "$query" >/dev/null 2>"$work/check.err"; then
        printf '%s;\n' "$query" >>"$checked"
    else
        echo "skipping a query the tier cannot answer: $(head -c 200 "$work/check.err")" >&2
    fi
done <"$mix"

ticks() { # pid → utime+stime in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
snapshot_cpu() { # → "name=ticks …"
    local out=() entry
    for entry in $QUERY_PIDS; do out+=("${entry%%=*}=$(ticks "${entry#*=}")"); done
    echo "${out[*]}"
}
snapshot_bytes() { # → "name=bytes_out …" from each node's /metrics
    local out=() entry value
    for entry in $QUERY_METRICS; do
        value="$(curl -s --max-time 2 "http://${entry#*=}/metrics" 2>/dev/null \
            | awk '/^query_transport_bytes_out[ {]/ { sum += $NF } END { printf "%.0f", sum + 0 }')"
        out+=("${entry%%=*}=${value:-0}")
    done
    echo "${out[*]}"
}

nodes=()
for node in $QUERY_SQL_NODES; do nodes+=(--node "$node"); done
cpu_before="$(snapshot_cpu)"
bytes_before="$(snapshot_bytes)"
start_ns="$(date +%s%N)"
"$QUERY_BIN/query" "${nodes[@]}" --timeout 10 --load-rate "$rate" --load-duration "$duration" \
    --load-queries "$checked" --load-interval "$interval"
end_ns="$(date +%s%N)"
cpu_after="$(snapshot_cpu)"
bytes_after="$(snapshot_bytes)"

python3 - "$cpu_before" "$cpu_after" "$bytes_before" "$bytes_after" "$start_ns" "$end_ns" "$interval" <<'PY'
import os, sys
cpu0, cpu1, b0, b1 = (dict(kv.split("=") for kv in arg.split()) for arg in sys.argv[1:5])
elapsed = (int(sys.argv[6]) - int(sys.argv[5])) / 1e9
generations = elapsed / float(sys.argv[7])
hz = os.sysconf("SC_CLK_TCK")
tier = lambda name: name.split("-")[0]
cpu, wire = {}, {}
for name in cpu1:
    cpu[tier(name)] = cpu.get(tier(name), 0) + (int(cpu1[name]) - int(cpu0.get(name, 0))) / hz
for name in b1:
    wire[tier(name)] = wire.get(tier(name), 0) + float(b1[name]) - float(b0.get(name, 0))
for t in ("edge", "proxy", "tla", "sql"):
    print(f"load.cpu_{t}_percent {100 * cpu.get(t, 0) / elapsed:.1f} %")
for t in ("edge", "proxy", "tla", "sql"):
    print(f"load.wire_bytes_per_generation_{t} {wire.get(t, 0) / generations:.0f} bytes")
tree = sum(wire.get(t, 0) for t in ("edge", "proxy", "tla"))
print(f"load.wire_bytes_per_generation {tree / generations:.0f} bytes")
PY
