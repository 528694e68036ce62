import QueryCore
import QuerySQL
import QuerySim
import Synchronization
import Testing

@Suite("Collection tree as an event source")
struct CollectionTreeSourceTests {
    /// Keeps every trigger it is given.
    final class Capture: TriggerSink {
        private let received = Mutex<[Trigger]>([])
        var triggers: [Trigger] { received.withLock { $0 } }

        func deliver(_ trigger: Trigger) -> TriggerDeliveryResult {
            received.withLock { $0.append(trigger) }
            return .delivered
        }
    }

    @Test("each generation at the SQL node becomes events, and a statement triggers on them")
    func fleetGenerationsTrigger() throws {
        let shape = FleetShape(clusters: 2, machinesPerCluster: 3, proxiesPerCluster: 2, aggregators: 2, sqlNodes: 1)
        let fleet = try Fleet(
            FleetConfiguration(
                shape: shape,
                seed: 7,
                interval: .seconds(10),
                dropAfter: .seconds(30),
                prewarm: ["machines"]
            ),
            evaluator: SQLEngine()
        )
        let manager = QueryManager()
        let source = CollectionTreeEventSource(configuration: .init(tables: ["machines"]))
        try manager.registerMetric("machines", schema: try Schema(ProcessesWorkload.machinesSchema.columns))
        let topic = try manager.registerStatement(
            "select machine_id, hostname from machines where cluster = 1",
            owner: "ops"
        )
        let perGeneration = try manager.registerStatement(
            "select count(*) as n from machines.win:time(5 sec)",
            owner: "ops"
        )
        let capture = Capture()
        try manager.addSink(capture, to: topic, as: "ops")
        try manager.addSink(capture, to: perGeneration, as: "ops")

        fleet.start()
        var published: [(generation: Generation, rows: Int, clusterOne: Int)] = []
        var seen: UInt64 = 0
        while fleet.simulation.now < .seconds(75) {
            fleet.run(until: fleet.simulation.now + .seconds(1))
            guard let node = fleet.simulation.role(of: FleetShape.sql(0)) as? QueryNode,
                let generation = node.generation,
                generation.number > seen
            else { continue }
            seen = generation.number
            let sink = manager.eventSink(as: "sql:0")
            let count = try source.publish(node.snapshot, generation: generation, at: fleet.simulation.now, into: sink)
            // The reference: the rows of the snapshot, counted directly.
            let table = node.snapshot.table("machines")
            let rows = table?.rowCount ?? 0
            let cluster =
                table.map { t in
                    t.slices.values.reduce(0) { sum, slice in
                        sum + slice.segment.rows.filter { $0[1] == .integer(1) }.count
                    }
                } ?? 0
            #expect(count == rows)
            published.append((generation, rows, cluster))
        }
        #expect(published.count >= 4, "\(published)")
        #expect(published.last?.rows == 6)
        let filtered = capture.triggers.filter { $0.topic == topic.name }
        #expect(filtered.count == published.map(\.clusterOne).reduce(0, +))
        #expect(filtered.allSatisfy { $0.columns == ["machine_id", "hostname"] })
        // A 5 s window holds exactly one generation (they are 10 s apart): after its last row the
        // count is the generation's row count.
        let counts = capture.triggers.filter { $0.topic == perGeneration.name }
        for entry in published where entry.rows > 0 {
            let last = counts.last { $0.time == entry.generation.time }
            #expect(last?.rows == [[.integer(Int64(entry.rows))]], "generation \(entry.generation.number)")
        }
        #expect(source.statistics.events == published.map(\.rows).reduce(0, +))
        #expect(source.statistics.rejected == 0)
    }
}
