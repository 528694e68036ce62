import ArgumentParser
import QueryCore
import QuerySim

/// `query-bench delta`: the per-origin delta primitives on small segments, per call.
///
/// Every hop of the collection tree diffs or applies one origin's ~25 `processes` rows at a time,
/// so the cost that matters is nanoseconds per call on small segments, not rows per second on a
/// big one. This suite takes two consecutive generations of `--machines` machines from the
/// simulator's `processes` workload (the tree benchmark's data) and times, per call:
///
/// - `diff`: ``Segment/diff(to:)`` from one generation of a machine's rows to the next;
/// - `make`: ``TableCopy/make(from:to:)`` (what an edge or a resync sends);
/// - `apply`: ``Segment/applying(_:heldVersion:)`` of each delta (what every hop does);
/// - `gather`: replacing one row in place (``Segment/gathering(_:other:)``, apply's last step);
/// - `table_apply`: ``Table/apply(_:origin:publishedAt:)`` of each delta to a table holding all
///   machines;
/// - the same diff and apply for `software_versions` (one row, text key);
/// - `large_diff` / `large_apply`: one `--large-rows`-row segment, per row, to watch the big path.
///
/// Times are thread CPU time, the median of `--runs` runs, divided by the calls per run. Each
/// timed loop is its own function, so `--callgrind` can print the valgrind command that counts
/// the instructions of one primitive alone.
struct DeltaBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delta",
        abstract: "Per-call cost (ns) of diff, make, apply and gather on small per-origin segments."
    )

    @Option(help: "Machines (origins) whose rows are diffed and applied.")
    var machines = 3_000

    @Option(help: "Rows of `processes` per machine.")
    var rows = 25

    @Option(help: "Fraction of rows changed per generation.")
    var churn = 0.05

    @Option(help: "Rows of the one large segment (0 skips the large figures).")
    var largeRows = 200_000

    @Option(help: "Timed runs per figure; the median is reported.")
    var runs = 7

    @Option(help: "Seed for the workload.")
    var seed: UInt64 = 1

    @Option(help: "Run only the figures whose name contains this (e.g. `diff`, `apply`, `large`).")
    var only: String?

    @Flag(help: "Print, per primitive, the valgrind command that counts its instructions.")
    var callgrind = false

    mutating func run() throws {
        let data = try DeltaData(machines: machines, rows: rows, churn: churn, seed: seed)
        Bench.emit("delta.machines", Double(data.processes.count), "origins")
        Bench.emit("delta.processes_rows_per_origin", Double(data.processesRows) / Double(data.processes.count), "rows")
        Bench.emit("delta.processes_changed_origins", Double(data.processesDeltas.count), "origins")
        Bench.emit("delta.processes_full_copies", Double(data.processesFullCopies), "origins")

        let runs = self.runs
        let only = self.only
        func figure(_ name: String, loop: String, calls: Int, _ body: () throws -> Void) rethrows {
            if let only, !name.contains(only) { return }
            let seconds = try Bench.median(runs: runs, body)
            Bench.emit("delta.\(name)", seconds / Double(max(calls, 1)) * 1e9, "ns")
            if callgrind {
                print(
                    "# instructions of \(name): valgrind --tool=callgrind --toggle-collect='*\(loop)*'"
                        + " .build/release/query-bench delta --only \(name) --runs 1 --large-rows \(largeRows)"
                        + " (then divide Ir by \(calls) calls)"
                )
            }
        }

        try figure("processes.diff", loop: "deltaLoopDiff", calls: data.processes.count) {
            try deltaLoopDiff(data.processes)
        }
        try figure("processes.diff_unchanged", loop: "deltaLoopDiff", calls: data.processes.count) {
            try deltaLoopDiff(data.processes.map { ($0.old, $0.old) })
        }
        try figure("processes.make", loop: "deltaLoopMake", calls: data.processes.count) {
            try deltaLoopMake(data.processes)
        }
        try figure("processes.apply", loop: "deltaLoopApply", calls: data.processesDeltas.count) {
            try deltaLoopApply(data.processesDeltas)
        }
        figure("processes.gather", loop: "deltaLoopGather", calls: data.processes.count) {
            deltaLoopGather(data.processes)
        }
        figure("processes.same_rows", loop: "deltaLoopSameRows", calls: data.processes.count) {
            deltaLoopSameRows(data.processes)
        }
        if only.map({ "processes.table_apply".contains($0) }) ?? true {
            let origins = data.processes.indices.map { NodeID("edge:\($0)") }
            var held = Table(name: "processes", schema: ProcessesWorkload.processesSchema)
            for (origin, pair) in zip(origins, data.processes) {
                try held.apply(.full(version: 1, segment: pair.old), origin: origin, publishedAt: .seconds(0))
            }
            let entries = data.processesDeltaIndices.map { (origins[$0.origin], $0.copy) }
            let seconds = try Bench.median(runs: runs, setup: { held }) { table in
                try deltaLoopTableApply(&table, entries)
            }
            Bench.emit("delta.processes.table_apply", seconds / Double(max(entries.count, 1)) * 1e9, "ns")
        }
        try figure("software_versions.diff", loop: "deltaLoopDiff", calls: data.software.count) {
            try deltaLoopDiff(data.software)
        }
        try figure("software_versions.apply", loop: "deltaLoopApply", calls: data.softwareDeltas.count) {
            try deltaLoopApply(data.softwareDeltas)
        }
        guard largeRows > 0 else { return }
        var large = ProcessesData(seed: seed)
        let old = large.generation(rows: largeRows, origins: 1)[0]
        let new = large.churned([old], fraction: churn)[0]
        let largePair = [(old.segment, new.segment)]
        try figure("large.diff_per_row", loop: "deltaLoopDiff", calls: largeRows) {
            try deltaLoopDiff(largePair)
        }
        let largeCopy = try TableCopy.make(from: (1, old.segment), to: (2, new.segment))
        try figure("large.apply_per_row", loop: "deltaLoopApply", calls: largeRows) {
            try deltaLoopApply([(old.segment, largeCopy)])
        }
    }
}

/// Two consecutive generations of the `processes` workload, and the deltas between them.
struct DeltaData {
    /// Per machine: its `processes` rows at one generation and at the next.
    var processes: [(old: Segment, new: Segment)] = []
    /// Per machine: its `software_versions` rows at both generations.
    var software: [(old: Segment, new: Segment)] = []
    /// The held rows and delta of each machine whose `processes` changed (deltas only).
    var processesDeltas: [(held: Segment, copy: TableCopy)] = []
    /// The same with the machine's index.
    var processesDeltaIndices: [(origin: Int, copy: TableCopy)] = []
    /// The same for `software_versions`.
    var softwareDeltas: [(held: Segment, copy: TableCopy)] = []
    /// Machines whose change is sent as a full copy.
    var processesFullCopies = 0
    /// Total `processes` rows at the first generation.
    var processesRows = 0

    init(machines: Int, rows: Int, churn: Double, seed: UInt64) throws {
        let perCluster = 60
        let clusters = (machines + perCluster - 1) / perCluster
        var workload = ProcessesWorkload(
            configuration: .init(
                seed: seed, clusters: clusters, machinesPerCluster: perCluster, processesPerMachine: rows, churn: churn))
        // Generation 3 → 4: past the first generations (everything spawned at once).
        for m in 0..<machines {
            let (cluster, machine) = m.quotientAndRemainder(dividingBy: perCluster)
            let before = workload.tables(cluster: cluster, machine: machine, generation: 3, now: .seconds(360))
            let after = workload.tables(cluster: cluster, machine: machine, generation: 4, now: .seconds(480))
            func pick(_ tables: [(TableName, Segment)], _ name: TableName) -> Segment {
                tables.first { $0.0 == name }!.1
            }
            let processes = (pick(before, "processes"), pick(after, "processes"))
            let software = (pick(before, "software_versions"), pick(after, "software_versions"))
            self.processes.append(processes)
            self.software.append(software)
            processesRows += processes.0.rowCount
            let copy = try TableCopy.make(from: (1, processes.0), to: (2, processes.1))
            if copy.isFull {
                processesFullCopies += 1
            } else if copy.carriedRowCount > 0 {
                processesDeltas.append((processes.0, copy))
                processesDeltaIndices.append((m, copy))
            }
            let softwareCopy = try TableCopy.make(from: (1, software.0), to: (2, software.1))
            if !softwareCopy.isFull, softwareCopy.carriedRowCount > 0 {
                softwareDeltas.append((software.0, softwareCopy))
            }
        }
        // A machine with an unchanged release still applies a (rare) delta: when none changed in
        // this window, time the apply of a one-row upsert so the figure exists.
        if softwareDeltas.isEmpty, let first = software.first {
            softwareDeltas.append((first.old, .delta(base: 1, version: 2, upserts: first.old, deletes: .empty(first.old.schema.deleteSchema))))
        }
    }
}

// Each timed loop is a separate function that is never inlined, so that callgrind's
// `--toggle-collect` can count one primitive's instructions alone.

@inline(never)
func deltaLoopDiff(_ pairs: [(old: Segment, new: Segment)]) throws {
    var carried = 0
    for pair in pairs {
        let (upserts, deletes) = try pair.old.diff(to: pair.new)
        carried &+= upserts.rowCount &+ deletes.rowCount
    }
    blackHole(carried)
}

@inline(never)
func deltaLoopMake(_ pairs: [(old: Segment, new: Segment)]) throws {
    var carried = 0
    for pair in pairs {
        let copy = try TableCopy.make(from: (1, pair.old), to: (2, pair.new))
        carried &+= copy.carriedRowCount
    }
    blackHole(carried)
}

@inline(never)
func deltaLoopApply(_ deltas: [(held: Segment, copy: TableCopy)]) throws {
    var rows = 0
    for delta in deltas {
        rows &+= try delta.held.applying(delta.copy, heldVersion: 1).rowCount
    }
    blackHole(rows)
}

@inline(never)
func deltaLoopGather(_ pairs: [(old: Segment, new: Segment)]) {
    var rows = 0
    for pair in pairs {
        // Row 0 replaced in place by the new generation's row 0: apply's shape for an update.
        var picks = (0..<Int32(pair.old.rowCount)).map { $0 }
        if !picks.isEmpty, pair.new.rowCount > 0 { picks[0] = ~0 }
        rows &+= pair.old.gathering(picks, other: pair.new).rowCount
    }
    blackHole(rows)
}

@inline(never)
func deltaLoopSameRows(_ pairs: [(old: Segment, new: Segment)]) {
    var same = 0
    for pair in pairs where pair.old.hasSameRows(as: pair.new) { same &+= 1 }
    blackHole(same)
}

@inline(never)
func deltaLoopTableApply(_ table: inout Table, _ entries: [(NodeID, TableCopy)]) throws {
    for (origin, copy) in entries {
        let outcome = try table.apply(copy, origin: origin, publishedAt: .seconds(1))
        precondition(outcome == .applied)
    }
}

/// Keeps `value` alive so the optimizer cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
