import ArgumentParser
import QueryCore

/// `query-bench core`: the data model, deltas and wire codec on a `processes`-like table.
///
/// Builds a table of `--rows` rows over `--origins` machines, churns `--churn` of the rows for one
/// generation, and measures encode/decode, diff, apply and zlib on it (single thread).
struct CoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "Deltas, wire codec and zlib on a 1M-row processes table over 60,000 origins."
    )

    @Option(help: "Rows in the table.")
    var rows = 1_000_000

    @Option(help: "Publishing machines (origins).")
    var origins = 60_000

    @Option(help: "Fraction of rows changed per generation.")
    var churn = 0.05

    @Option(help: "Timed runs per figure; the median is reported.")
    var runs = 5

    @Option(help: "zlib compression level (0–9).")
    var zlibLevel: Int32 = Zlib.defaultLevel

    @Option(help: "Random seed for the data.")
    var seed: UInt64 = 1

    mutating func run() throws {
        var data = ProcessesData(seed: seed)
        let schema = ProcessesData.schema
        let generation0 = data.generation(rows: rows, origins: origins)
        let generation1 = data.churned(generation0, fraction: churn)
        let tableBytes = generation0.reduce(0) { $0 + $1.segment.byteSize }
        Bench.emit("core.rows", Double(rows), "rows")
        Bench.emit("core.origins", Double(origins), "origins")
        Bench.emit("core.table_bytes", Double(tableBytes), "bytes")

        // Full copies: one update carrying every origin.
        let fullUpdate = try TableUpdate(
            table: "processes",
            schema: schema,
            entries: generation0.map {
                .init(origin: $0.origin, publishedAt: .seconds(120), copy: .full(version: 1, segment: $0.segment))
            }
        )
        var fullBytes: [UInt8] = []
        let encodeSeconds = Bench.median(runs: runs) { fullBytes = fullUpdate.wireBytes() }
        Bench.emit("core.full_bytes", Double(fullBytes.count), "bytes")
        Bench.emit("core.encode_mb_s", Double(fullBytes.count) / encodeSeconds / 1e6, "MB/s")

        var decodedFull: TableUpdate?
        let decodeSeconds = try Bench.median(runs: runs, setup: { () -> TableUpdate? in nil }) { decoded in
            decoded = try TableUpdate(wireBytes: fullBytes)
        }
        decodedFull = try TableUpdate(wireBytes: fullBytes)
        Bench.emit("core.decode_mb_s", Double(fullBytes.count) / decodeSeconds / 1e6, "MB/s")
        Bench.emit("core.decode_table_mb_s", Double(tableBytes) / decodeSeconds / 1e6, "MB/s")
        precondition(decodedFull?.entries.count == origins)

        // Decode + apply of full copies into an empty table, per MB of table data.
        // (Dropping the decoded data happens after the clock stops.)
        let decodeApplyFullSeconds = try Bench.median(runs: runs, setup: { Table(name: "processes", schema: schema) }) {
            table in
            let update = try TableUpdate(wireBytes: fullBytes)
            let (_, errors) = table.apply(update)
            precondition(errors.isEmpty && table.rowCount == rows)
        }
        Bench.emit("core.decode_apply_full_mb_s", Double(tableBytes) / decodeApplyFullSeconds / 1e6, "MB/s")

        // Diff: one delta per origin.
        var deltaEntries: [TableUpdate.Entry] = []
        let diffSeconds = try Bench.median(runs: runs) {
            deltaEntries = []
            deltaEntries.reserveCapacity(origins)
            for (old, new) in zip(generation0, generation1) {
                let copy = try TableCopy.make(from: (1, old.segment), to: (2, new.segment))
                deltaEntries.append(.init(origin: new.origin, publishedAt: .seconds(240), copy: copy))
            }
        }
        let generation1Rows = generation1.reduce(0) { $0 + $1.segment.rowCount }
        Bench.emit("core.diff_rows_s", Double(generation1Rows) / diffSeconds, "rows/s")
        let carried = deltaEntries.reduce(0) { $0 + $1.copy.carriedRowCount }
        let fullDeltas = deltaEntries.filter { $0.copy.isFull }.count
        Bench.emit("core.delta_rows", Double(carried), "rows")
        Bench.emit("core.delta_full_copies", Double(fullDeltas), "origins")

        let deltaUpdate = try TableUpdate(table: "processes", schema: schema, entries: deltaEntries)
        let deltaBytes = deltaUpdate.wireBytes()
        let zlib = Zlib(level: zlibLevel)
        let deltaCompressed = try zlib.compress(deltaBytes)
        var fullCompressed: [UInt8] = []
        let compressSeconds = try Bench.median(runs: runs) { fullCompressed = try zlib.compress(fullBytes) }
        let inflateSeconds = try Bench.median(runs: runs) {
            let inflated = try Zlib.decompress(fullCompressed, uncompressedLength: fullBytes.count)
            precondition(inflated.count == fullBytes.count)
        }
        Bench.emit("core.delta_bytes", Double(deltaBytes.count), "bytes")
        Bench.emit("core.delta_zlib_bytes", Double(deltaCompressed.count), "bytes")
        Bench.emit("core.full_zlib_bytes", Double(fullCompressed.count), "bytes")
        Bench.emit("core.delta_pct_of_full", 100 * Double(deltaBytes.count) / Double(fullBytes.count), "%")
        Bench.emit("core.delta_zlib_pct_of_full", 100 * Double(deltaCompressed.count) / Double(fullBytes.count), "%")
        Bench.emit(
            "core.delta_zlib_pct_of_full_zlib",
            100 * Double(deltaCompressed.count) / Double(fullCompressed.count),
            "%"
        )
        Bench.emit("core.zlib_level", Double(zlib.level), "level")
        Bench.emit("core.zlib_compress_mb_s", Double(fullBytes.count) / compressSeconds / 1e6, "MB/s")
        Bench.emit("core.zlib_decompress_mb_s", Double(fullBytes.count) / inflateSeconds / 1e6, "MB/s")

        // Apply the delta generation to a table holding generation 0.
        func tableAtGeneration0() throws -> Table {
            var table = Table(name: "processes", schema: schema)
            for entry in generation0 {
                try table.apply(
                    .full(version: 1, segment: entry.segment),
                    origin: entry.origin,
                    publishedAt: .seconds(120)
                )
            }
            return table
        }
        let applySeconds = try Bench.median(runs: runs, setup: tableAtGeneration0) { table in
            let (_, errors) = table.apply(deltaUpdate)
            precondition(errors.isEmpty)
        }
        Bench.emit("core.apply_rows_s", Double(generation1Rows) / applySeconds, "rows/s")
        Bench.emit("core.apply_delta_rows_s", Double(carried) / applySeconds, "rows/s")

        // The whole receive path for a delta generation: inflate, decode, apply.
        let deltaFrame = Frame(messageType: 200, body: deltaBytes).encoded(configuration: .init(zlib: zlib))
        // (Releasing the replaced segments is part of applying and is timed.)
        let receiveSeconds = try Bench.median(runs: runs, setup: tableAtGeneration0) { table in
            let frame = try Frame.decode(deltaFrame)
            let update = try TableUpdate(wireBytes: frame.body)
            let (_, errors) = table.apply(update)
            precondition(errors.isEmpty)
        }
        Bench.emit("core.delta_frame_bytes", Double(deltaFrame.count), "bytes")
        Bench.emit("core.receive_delta_ms", receiveSeconds * 1000, "ms")
        Bench.emit("core.receive_delta_table_mb_s", Double(tableBytes) / receiveSeconds / 1e6, "MB/s")

        // One segment to scan: every origin's rows concatenated (what a SQL node scans).
        let table0 = try tableAtGeneration0()
        let consolidateSeconds = Bench.median(runs: runs, setup: { () -> Segment? in nil }) { result in
            result = table0.consolidated()
            precondition(result?.rowCount == rows)
        }
        Bench.emit("core.consolidate_rows_s", Double(rows) / consolidateSeconds, "rows/s")

        // Check: the applied table equals generation 1.
        var check = try tableAtGeneration0()
        _ = check.apply(try TableUpdate(wireBytes: Frame.decode(deltaFrame).body))
        for entry in generation1 where !check.slices[entry.origin]!.segment.hasSameRows(as: entry.segment) {
            throw ValidationError("applied delta differs from generation 1 for \(entry.origin)")
        }
    }
}

/// Deterministic `processes`-like data: machine_id, pid, uid, process_name, version, rss, cpu.
struct ProcessesData {
    /// The table's schema, keyed by pid (unique per machine).
    static let schema = try! Schema(
        [
            ColumnDefinition("machine_id", .text, nullable: false),
            ColumnDefinition("pid", .integer, nullable: false),
            ColumnDefinition("uid", .integer),
            ColumnDefinition("process_name", .text),
            ColumnDefinition("version", .text),
            ColumnDefinition("rss", .integer),
            ColumnDefinition("cpu", .real),
        ],
        key: ["pid"]
    )

    /// A few hundred process names.
    static let processNames: [String] = {
        let stems = [
            "nginx", "postgres", "java", "python3", "sshd", "systemd-journald", "containerd", "dockerd", "kubelet",
            "node", "redis-server", "memcached", "envoy", "haproxy", "chronyd", "rsyslogd", "cron", "bash", "zsh",
            "prometheus", "node_exporter", "fluent-bit", "etcd", "coredns", "mysqld", "mongod", "kafka", "zookeeper",
            "elasticsearch", "grafana-server", "vault", "consul", "nomad", "telegraf", "php-fpm", "gunicorn",
            "uwsgi", "celery", "sidekiq", "ruby",
        ]
        let suffixes = ["", "-worker", "-agent", ": master", "-helper", "-proxy", ".bin", "-sync"]
        var names: [String] = []
        for stem in stems {
            for suffix in suffixes { names.append(stem + suffix) }
        }
        return names
    }()

    /// A few dozen versions.
    static let versions: [String] = (0..<40).map { i in "\(1 + i % 4).\(i % 13).\(i * 7 % 31)" }

    var rng: BenchRandom

    init(seed: UInt64) { rng = BenchRandom(seed: seed) }

    /// One origin's rows.
    struct OriginRows {
        var origin: NodeID
        var machineID: String
        var segment: Segment
    }

    mutating func row(machineID: String, pid: Int64) -> [Value] {
        let name = rng.pick(ProcessesData.processNames)
        let uids: [Int64] = [0, 0, 0, 33, 100, 101, 999, 1000, 1001, 1002]
        return [
            .text(machineID), .integer(pid), .integer(rng.pick(uids)), .text(name),
            .text(rng.pick(ProcessesData.versions)),
            .integer(Int64(rng.below(4_000_000)) + 1_000),
            rng.below(10) < 6 ? .real(0) : .real(Double(rng.below(10_000)) / 100),
        ]
    }

    mutating func generation(rows: Int, origins: Int) -> [OriginRows] {
        var result: [OriginRows] = []
        result.reserveCapacity(origins)
        for o in 0..<origins {
            let count = rows / origins + (o < rows % origins ? 1 : 0)
            let cluster = o / 200
            let machineID = "c\(cluster)-m\(o % 200)"
            var builder = SegmentBuilder(schema: ProcessesData.schema, capacity: count)
            var pid: Int64 = 1
            for _ in 0..<count {
                pid += Int64(rng.below(300)) + 1
                try! builder.append(row(machineID: machineID, pid: pid))
            }
            result.append(
                OriginRows(
                    origin: NodeID("edge:c\(cluster).m\(o % 200)"),
                    machineID: machineID,
                    segment: builder.finish()
                )
            )
        }
        return result
    }

    /// Changes about `fraction` of the rows: 60% of the changes update rss and cpu, 20% end a
    /// process, 20% start one.
    mutating func churned(_ generation: [OriginRows], fraction: Double) -> [OriginRows] {
        generation.map { entry in
            var rows = entry.segment.rows
            var maxPID = rows.reduce(Int64(0)) { max($0, $1[1].integerValue) }
            var kept: [[Value]] = []
            var started: [[Value]] = []
            for var row in rows {
                guard rng.unit() < fraction else {
                    kept.append(row)
                    continue
                }
                let kind = rng.below(10)
                if kind < 6 {
                    row[5] = .integer(Int64(rng.below(4_000_000)) + 1_000)
                    row[6] = .real(Double(rng.below(10_000)) / 100)
                    kept.append(row)
                } else if kind < 8 {
                    continue
                } else {
                    kept.append(row)
                    maxPID += Int64(rng.below(300)) + 1
                    started.append(self.row(machineID: entry.machineID, pid: maxPID))
                }
            }
            rows = kept + started
            return OriginRows(
                origin: entry.origin,
                machineID: entry.machineID,
                segment: try! Segment(schema: ProcessesData.schema, rows: rows)
            )
        }
    }
}

extension Value {
    fileprivate var integerValue: Int64 {
        if case .integer(let i) = self { return i }
        return 0
    }
}

/// SplitMix64, for repeatable benchmark data.
struct BenchRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    mutating func pick<T>(_ elements: [T]) -> T { elements[below(elements.count)] }
}
