import ArgumentParser
import QueryCore
import QuerySQL
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `query-bench sql`: monitoring queries over a generated fleet snapshot (1M `processes` rows over
/// 60,000 machines), run through ``SQLEngine`` against a catalog; prints `sql.<query>.ms <median> ms`.
///
/// `Benchmarks/compare-sql.sh` runs the same queries on the same data (written with `--write-csv`)
/// in SQLite and DuckDB, checks that every engine returns the same rows, and prints ratios.
struct SQLBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "SQL engine: monitoring queries over a 1M-row processes snapshot (median ms per query)."
    )

    @Option(help: "Rows in processes.")
    var rows = 1_000_000

    @Option(help: "Machines (one software_versions row each).")
    var machines = 60_000

    @Option(help: "Clusters.")
    var clusters = 1_000

    @Option(help: "Timed runs per query; the median is reported.")
    var runs = 5

    @Option(help: "Random seed for the data.")
    var seed: UInt64 = 42

    @Option(help: "Write the tables as CSV files into this directory (for SQLite/DuckDB) and exit.")
    var writeCSV: String?

    @Option(help: "Write every query's result rows to this file (one query per block) for comparison.")
    var results: String?

    @Option(help: "Run only queries whose name contains this text.")
    var only: String?

    mutating func run() throws {
        let data = SQLBenchmarkData(rows: rows, machines: machines, clusters: clusters, seed: seed)
        if let writeCSV {
            try data.writeCSV(to: writeCSV)
            return
        }
        let catalog = BenchmarkCatalog(tables: data.tables())
        let engine = SQLEngine()
        var output = ""
        for query in SQLBenchmarkQueries.all where only.map({ query.name.contains($0) }) ?? true {
            // One untimed run converts the tables for execution (cached per catalog version).
            let first = try engine.evaluate(query.sql, in: catalog)
            let seconds = try Bench.median(runs: runs) { _ = try engine.evaluate(query.sql, in: catalog) }
            Bench.emit("sql.\(query.name).ms", seconds * 1000, "ms")
            output += "== \(query.name)\n"
            for row in first.rows { output += row.map(\.description).joined(separator: "|") + "\n" }
        }
        if let results {
            guard let file = fopen(results, "w") else { throw ValidationError("cannot write \(results)") }
            fputs(output, file)
            fclose(file)
        }
    }
}

/// The benchmark's queries (the same text runs in SQLite and DuckDB).
enum SQLBenchmarkQueries {
    struct Query {
        var name: String
        var sql: String
    }

    static let all: [Query] = [
        Query(
            name: "paper",
            sql: """
                SELECT p.process_name, sv.version, avg(p.rss) avg_memory
                FROM processes p, software_versions sv
                WHERE p.machine_id = sv.machine_id AND p.uid=5000
                GROUP BY 1,2 HAVING avg_memory > 100*1000000
                """),
        Query(name: "filtered_count", sql: "SELECT count(*) FROM processes WHERE uid = 5000 AND rss > 200000000"),
        Query(name: "topk_rss", sql: "SELECT machine_id, pid, process_name, rss FROM processes ORDER BY rss DESC, machine_id, pid LIMIT 10"),
        Query(
            name: "group_by_process",
            sql: "SELECT process_name, count(*), sum(rss), max(cpu) FROM processes GROUP BY process_name"),
        Query(
            name: "join3_region",
            sql: """
                SELECT c.region, count(*), sum(p.rss) FROM processes p
                JOIN machines m ON p.machine_id = m.machine_id
                JOIN clusters c ON m.cluster_id = c.cluster_id
                WHERE p.uid = 0 GROUP BY c.region
                """),
        Query(name: "like_filter", sql: "SELECT count(*) FROM processes WHERE process_name LIKE 'java%'"),
        Query(name: "distinct_count", sql: "SELECT count(DISTINCT machine_id) FROM processes WHERE rss > 400000000"),
        Query(
            name: "correlated_exists",
            sql: """
                SELECT m.machine_id FROM machines m WHERE m.cluster_id < 3 AND EXISTS
                (SELECT 1 FROM software_versions s WHERE s.machine_id = m.machine_id AND s.version = 'v3')
                """),
        Query(
            name: "in_subquery",
            sql: """
                SELECT count(*), sum(rss) FROM processes WHERE machine_id IN
                (SELECT machine_id FROM software_versions WHERE version = 'v1')
                """),
        Query(
            name: "top_machines",
            sql: "SELECT machine_id, sum(rss) s FROM processes GROUP BY machine_id ORDER BY s DESC, machine_id LIMIT 5"),
        Query(
            name: "between_avg",
            sql: "SELECT count(*), avg(cpu) FROM processes WHERE rss BETWEEN 100000000 AND 200000000 AND uid <> 0"),
        Query(
            name: "version_join",
            sql: """
                SELECT sv.version, count(*), max(p.rss) FROM processes p JOIN software_versions sv
                ON p.machine_id = sv.machine_id GROUP BY sv.version
                """),
    ]
}

/// A fixed catalog of the generated tables (a class, so the engine caches per version).
final class BenchmarkCatalog: TableCatalog {
    let tables: [TableName: Table]
    let version: UInt64 = 1

    init(tables: [Table]) {
        self.tables = Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0) })
    }

    func table(_ name: TableName) -> Table? { tables[name] }
    func viewDefinition(_ name: TableName) -> String? { nil }
    var knownNames: [TableName] { Array(tables.keys) }
}

/// Deterministic fleet data: `processes`, `software_versions`, `machines`, `clusters`.
struct SQLBenchmarkData {
    var processes: [[Value]] = []
    var softwareVersions: [[Value]] = []
    var machineRows: [[Value]] = []
    var clusterRows: [[Value]] = []

    static let names = [
        "nginx", "postgres", "java", "python3", "sshd", "systemd-journald", "containerd", "dockerd", "kubelet", "node",
        "redis-server", "memcached", "envoy", "haproxy", "chronyd", "rsyslogd", "cron", "bash", "prometheus", "etcd",
        "javac", "java-agent", "mysqld", "kafka",
    ]
    static let regions = ["us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-northeast", "sa-east", "af-south"]

    init(rows: Int, machines: Int, clusters: Int, seed: UInt64) {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for c in 0..<clusters {
            clusterRows.append([.integer(Int64(c)), .text(Self.regions[c % Self.regions.count]), .text("cluster-\(c)")])
        }
        for m in 0..<machines {
            machineRows.append([.integer(Int64(m)), .integer(Int64(m % clusters)), .text("host-\(m)")])
            softwareVersions.append([.integer(Int64(m)), .text("agent"), .text("v\(next() % 5)")])
        }
        for r in 0..<rows {
            let machine = Int64(r % machines)
            let name = Self.names[Int(next() % UInt64(Self.names.count))]
            let uid: Int64 = [0, 0, 5000, 5000, 5000, 1000, 33][Int(next() % 7)]
            let rss = Int64(next() % 500_000_000)
            let cpu = Double(next() % 10_000) / 100
            processes.append([.integer(machine), .integer(Int64(r)), .text(name), .integer(uid), .integer(rss), .real(cpu)])
        }
    }

    static let schemas: [(String, [(String, ColumnType)])] = [
        ("processes", [("machine_id", .integer), ("pid", .integer), ("process_name", .text), ("uid", .integer), ("rss", .integer), ("cpu", .real)]),
        ("software_versions", [("machine_id", .integer), ("software", .text), ("version", .text)]),
        ("machines", [("machine_id", .integer), ("cluster_id", .integer), ("hostname", .text)]),
        ("clusters", [("cluster_id", .integer), ("region", .text), ("name", .text)]),
    ]

    var rowSets: [[[Value]]] { [processes, softwareVersions, machineRows, clusterRows] }

    /// The tables as a SQL node holds them (one origin per table here: the snapshot after combining).
    func tables() -> [Table] {
        zip(Self.schemas, rowSets).map { spec, rows in
            let schema = try! Schema(spec.1)
            var table = Table(name: TableName(unchecked: spec.0), schema: schema)
            let segment = try! Segment(schema: schema, rows: rows)
            _ = try! table.replace(origin: "tla", version: 1, segment: segment, publishedAt: Instant(nanosecondsSinceEpoch: 0))
            return table
        }
    }

    /// Writes `<name>.csv` with a header line per table.
    func writeCSV(to directory: String) throws {
        for (spec, rows) in zip(Self.schemas, rowSets) {
            guard let file = fopen(directory + "/" + spec.0 + ".csv", "w") else {
                throw ValidationError("cannot write into \(directory)")
            }
            fputs(spec.1.map(\.0).joined(separator: ",") + "\n", file)
            for row in rows {
                fputs(row.map { v in if case .real(let d) = v { return Value.cFormat("%.17g", d) } else { return v.description } }.joined(separator: ",") + "\n", file)
            }
            fclose(file)
        }
    }
}
