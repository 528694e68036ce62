import QueryCore
import QuerySQL
import QuerySim
import Testing

/// A SQL node keeps, per table version, what the engine derived from the table (its rows as one
/// relation) and shares it among every query over that version. Over fleets with churn, machines
/// that die and return, machines that stop publishing, partitions, TLA failover and message loss,
/// every answer from the shared relations must equal the answer from relations built afresh, and a
/// table that kept its derived data must hold exactly the rows it had when that data was made.
@Suite("Relations shared per table version")
struct SharedRelationTests {
    /// The snapshot with its per-table store and content token hidden: the engine builds every
    /// relation afresh (the general path).
    struct Fresh: TableCatalog {
        let base: SnapshotCatalog
        var version: UInt64 { base.version }
        func table(_ name: TableName) -> Table? { base.table(name) }
        func viewDefinition(_ name: TableName) -> String? { base.viewDefinition(name) }
    }

    /// A table's rows in comparable form: origins in order, each with its version and rows.
    static func content(_ table: Table) -> String {
        table.sortedOrigins.map { origin in
            let slice = table.slices[origin]!
            return "\(origin)@\(slice.version):\(slice.segment.rows)"
        }.joined(separator: "\n")
    }

    static let queries = [
        "SELECT * FROM processes",
        "SELECT count(*), sum(rss), max(cpu) FROM processes WHERE uid = 5000",
        """
        SELECT p.process_name, sv.version, avg(p.rss) avg_memory
        FROM processes p, software_versions sv
        WHERE p.machine_id = sv.machine_id AND p.uid=5000
        GROUP BY 1,2 HAVING avg_memory > 10*1000000
        """,
        "SELECT * FROM software_versions",
        "SELECT m.region, count(*) FROM machines m JOIN processes p ON p.machine_id = m.machine_id GROUP BY 1",
    ]

    @Test(arguments: [3, 11, 29] as [UInt64])
    func sharedRelationsAnswerAsFreshOnes(seed: UInt64) throws {
        let shape = FleetShape(clusters: 3, machinesPerCluster: 4, proxiesPerCluster: 2, aggregators: 2, sqlNodes: 2)
        let fleet = try Fleet(
            FleetConfiguration(
                shape: shape, seed: seed, interval: .seconds(10), dropAfter: .seconds(30),
                prewarm: ["processes", "software_versions", "machines"], processesPerMachine: 6, churn: 0.3,
                network: NetworkConditions(latency: .uniform(min: .milliseconds(1), max: .milliseconds(30)), loss: 0.02)),
            evaluator: SQLEngine())
        let sim = fleet.simulation
        let shared = SQLEngine()
        // Derived data seen so far, kept alive (so no identity is reused) with the rows it came from.
        var seen: [ObjectIdentifier: (derived: DerivedTableData, content: String)] = [:]
        var lastToken: [NodeID: UInt64] = [:]
        var reused = 0
        var compared = 0
        fleet.start()
        for second in 1...240 {
            switch second {
            case 45: sim.crash(FleetShape.edge(1, 2))
            case 60: fleet.setPublishing(false, cluster: 0, machine: 1)
            case 95: sim.restart(FleetShape.edge(1, 2))
            case 110: fleet.setPublishing(true, cluster: 0, machine: 1)
            case 130: sim.partition([FleetShape.aggregator(0)])
            case 170: sim.heal([FleetShape.aggregator(0)])
            default: break
            }
            fleet.run(until: .seconds(Double(second)))
            for s in 0..<shape.sqlNodes {
                let id = FleetShape.sql(s)
                guard let node = sim.role(of: id) as? QueryNode else { continue }
                let snapshot = node.snapshot
                guard let token = snapshot.contentToken, lastToken[id] != token else { continue }
                lastToken[id] = token
                for name in snapshot.tables.keys.sorted() {
                    let table = try #require(snapshot.table(name))
                    let derived = try #require(snapshot.derivedData(for: name))
                    let now = Self.content(table)
                    if let earlier = seen[ObjectIdentifier(derived)] {
                        #expect(earlier.content == now, "seed \(seed) t=\(second) \(id) \(name): derived data kept over changed rows")
                        reused += 1
                    } else {
                        seen[ObjectIdentifier(derived)] = (derived, now)
                    }
                }
                for sql in Self.queries where (try? shared.tablesReferenced(by: sql, catalog: snapshot))?
                    .allSatisfy({ snapshot.table($0) != nil }) ?? false
                {
                    let answer = try shared.evaluate(sql, in: snapshot)
                    let fresh = try SQLEngine().evaluate(sql, in: Fresh(base: snapshot))
                    #expect(answer == fresh, "seed \(seed) t=\(second) \(id): \(sql)")
                    compared += 1
                }
            }
        }
        #expect(compared > 100)
        // Tables that did not change (machines, mostly) kept what was derived from them.
        #expect(reused > 10)
    }
}
