#!/usr/bin/env bash
# Compares swift-query's SQL engine with SQLite (python3 sqlite3, in-memory) and DuckDB on the same
# generated fleet data and the same queries (Benchmarks/query-bench/SQLBenchmark.swift).
#
# 1. builds query-bench (release) and writes the tables as CSV into a temporary directory;
# 2. runs every query in this engine (`query-bench sql`), recording medians and result rows;
# 3. loads the CSVs into SQLite and DuckDB, checks that all three engines return the same rows
#    for every query (no fast wrong answer is ever timed), then times each query (median of runs);
# 4. prints a table with ratios and ends with
#      sql.median_ratio_vs_sqlite <x>
#      sql.median_ratio_vs_duckdb <y>
#    (ratio = this engine's time / the peer's time, median over the queries).
#
# Usage: Benchmarks/compare-sql.sh [--rows N] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

if ! python3 -c "import duckdb" 2>/dev/null; then
  echo "installing duckdb with pip..." >&2
  python3 -m pip install --quiet duckdb || python3 -m pip install --quiet --break-system-packages duckdb
fi

swift build -c release --product query-bench >&2
BIN="$(swift build -c release --show-bin-path)/query-bench"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$BIN" sql --rows "$ROWS" --write-csv "$WORK"
"$BIN" sql --rows "$ROWS" --runs "$RUNS" --results "$WORK/swift-results.txt" > "$WORK/swift-times.txt"

python3 - "$WORK" "$RUNS" <<'PYTHON'
import csv, math, re, sqlite3, statistics, sys, time
import duckdb

work, runs = sys.argv[1], int(sys.argv[2])
source = open("Benchmarks/query-bench/SQLBenchmark.swift").read()
queries = []
for m in re.finditer(r'Query\(\s*name: "([a-z0-9_]+)",\s*sql: (?:"""(.*?)"""|"((?:[^"\\]|\\.)*)")\)', source, re.S):
    name, block, line = m.group(1), m.group(2), m.group(3)
    sql = block if block is not None else line
    queries.append((name, " ".join(sql.split())))

tables = {
    "processes": [("machine_id", "INTEGER"), ("pid", "INTEGER"), ("process_name", "TEXT"), ("uid", "INTEGER"), ("rss", "INTEGER"), ("cpu", "REAL")],
    "software_versions": [("machine_id", "INTEGER"), ("software", "TEXT"), ("version", "TEXT")],
    "machines": [("machine_id", "INTEGER"), ("cluster_id", "INTEGER"), ("hostname", "TEXT")],
    "clusters": [("cluster_id", "INTEGER"), ("region", "TEXT"), ("name", "TEXT")],
}

def load_rows(name):
    cols = tables[name]
    with open(f"{work}/{name}.csv") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            yield tuple(int(v) if t == "INTEGER" else float(v) if t == "REAL" else v for v, (_, t) in zip(row, cols))

lite = sqlite3.connect(":memory:")
duck = duckdb.connect()
duck.execute("SET threads TO 1")
for name, cols in tables.items():
    ddl = f"CREATE TABLE {name}(" + ", ".join(f"{c} {t}" for c, t in cols) + ")"
    lite.execute(ddl)
    duck.execute(ddl.replace("REAL", "DOUBLE"))
    rows = list(load_rows(name))
    lite.executemany(f"INSERT INTO {name} VALUES (" + ",".join("?" * len(cols)) + ")", rows)
    duck.execute(f"INSERT INTO {name} SELECT * FROM read_csv_auto('{work}/{name}.csv', header=true)")
lite.commit()

def norm(v):
    if v is None:
        return None
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, int):
        return float(v)
    try:
        return float(f"{float(v):.9g}")
    except ValueError:
        return v

def canonical(rows):
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)

swift_rows, current = {}, None
for line in open(f"{work}/swift-results.txt"):
    line = line.rstrip("\n")
    if line.startswith("== "):
        current = line[3:]
        swift_rows[current] = []
    else:
        swift_rows[current].append(tuple(None if v == "NULL" else v for v in line.split("|")))
swift_ms = {}
for line in open(f"{work}/swift-times.txt"):
    m = re.match(r"sql\.(\S+)\.ms (\S+) ms", line)
    if m:
        swift_ms[m.group(1)] = float(m.group(2))

def median_ms(fn):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

ok = True
results = []
for name, sql in queries:
    lite_rows = lite.execute(sql).fetchall()
    duck_rows = duck.execute(sql).fetchall()
    mine = canonical(swift_rows.get(name, []))
    if not (mine == canonical(lite_rows) == canonical(duck_rows)):
        print(f"MISMATCH in {name}: swift={mine[:3]} sqlite={canonical(lite_rows)[:3]} duckdb={canonical(duck_rows)[:3]}", file=sys.stderr)
        ok = False
        continue
    t_lite = median_ms(lambda: lite.execute(sql).fetchall())
    t_duck = median_ms(lambda: duck.execute(sql).fetchall())
    results.append((name, swift_ms[name], t_lite, t_duck))

print(f"{'query':<20} {'swift ms':>10} {'sqlite ms':>10} {'duckdb ms':>10} {'vs sqlite':>10} {'vs duckdb':>10}")
for name, s, l, d in results:
    print(f"{name:<20} {s:>10.2f} {l:>10.2f} {d:>10.2f} {s / l:>10.3f} {s / d:>10.3f}")
if results:
    print(f"sql.median_ratio_vs_sqlite {statistics.median(s / l for _, s, l, _ in results):.3f}")
    print(f"sql.median_ratio_vs_duckdb {statistics.median(s / d for _, s, _, d in results):.3f}")
sys.exit(0 if ok else 1)
PYTHON
