import QueryCore
import QuerySim
import Testing

@Suite("Simulated fleets")
struct FleetTests {
    func smallFleet(seed: UInt64 = 1, network: NetworkConditions = .clean) throws -> Fleet {
        let shape = FleetShape(clusters: 2, machinesPerCluster: 3, proxiesPerCluster: 2, aggregators: 2, sqlNodes: 1)
        return try Fleet(
            FleetConfiguration(shape: shape, seed: seed, interval: .seconds(10), dropAfter: .seconds(30), prewarm: ["processes"], network: network),
            evaluator: CountingEvaluator())
    }

    func count(_ fleet: Fleet, _ id: QueryID) -> Int64? {
        guard case .success(let answer)? = fleet.simulation.query(id)?.outcome,
            case .integer(let n)? = answer.result.rows.first?.first
        else { return nil }
        return n
    }

    @Test("rows flow from every machine to the SQL node")
    func flow() throws {
        let fleet = try smallFleet()
        fleet.start()
        let all = fleet.submit("SELECT count(*) FROM processes", at: .seconds(60))
        let machines = fleet.submit("SELECT count(DISTINCT(machine_id)) FROM processes", at: .seconds(60))
        fleet.run(until: .seconds(80))
        let outcome = fleet.simulation.query(all)?.outcome
        #expect(count(fleet, all) == 150, "\(String(describing: outcome))\n\(fleet.simulation.formattedLogs(limit: 40))")
        #expect(count(fleet, machines) == 6)
    }
}
