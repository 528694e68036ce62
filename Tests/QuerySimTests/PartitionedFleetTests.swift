import QueryCore
import QuerySim
import Testing

/// Partitioned fleets (issue #4): subnetworks, aggregator sets and table partitions built by
/// ``Fleet`` and swept by the `partitioned` fault word.
@Suite("Partitioned fleets")
struct PartitionedFleetTests {
    static let shape = FleetShape(clusters: 3, machinesPerCluster: 2, proxiesPerCluster: 2, aggregators: 3, sqlNodes: 3)

    static let partitioning = FleetPartitioning(
        subnetworks: [.init(aggregator: 1, clusters: [0, 2])],
        aggregatorSets: [
            .init(name: "ops", aggregators: [0, 1], sqlNodes: [0, 1]), .init(name: "dev", aggregators: [2], sqlNodes: [2]),
        ],
        tablePartitions: [
            .init(name: "inventory", tables: ["machines"], aggregators: [0], sqlNodes: [1]),
            .init(name: "procs", tables: ["processes", "software_versions"], aggregators: [2], sqlNodes: [0]),
        ])

    func fleet(_ partitioning: FleetPartitioning = partitioning) throws -> Fleet {
        try Fleet(
            FleetConfiguration(
                shape: Self.shape, seed: 3, interval: .seconds(10), dropAfter: .seconds(40),
                prewarm: ["machines", "processes"], partitioning: partitioning),
            evaluator: CountingEvaluator())
    }

    func answer(_ fleet: Fleet, _ id: QueryID) -> QueryAnswer? {
        guard case .success(let answer)? = fleet.simulation.query(id)?.outcome else { return nil }
        return answer
    }

    @Test("the roles are configured with their subnetwork, set, served tables and partitions")
    func configuration() throws {
        let fleet = try fleet()
        fleet.start()
        let sim = fleet.simulation
        let tla0 = try #require(sim.role(of: "tla:0") as? Aggregator)
        let tla1 = try #require(sim.role(of: "tla:1") as? Aggregator)
        let tla2 = try #require(sim.role(of: "tla:2") as? Aggregator)
        #expect(tla0.configuration.clusters.map(\.cluster) == ["cluster:0", "cluster:1", "cluster:2"])
        #expect(tla1.configuration.clusters.map(\.cluster) == ["cluster:0", "cluster:2"])
        #expect(tla1.configuration.clusters[1].proxies == ["proxy:2.0", "proxy:2.1"])
        #expect(tla0.configuration.aggregatorSet?.members == ["tla:0", "tla:1", "sql:0", "sql:1"])
        #expect(tla2.configuration.aggregatorSet?.name == "dev")
        // tla:0 serves inventory and every table no partition names; tla:1 is in no partition.
        #expect(tla0.configuration.servedTables == ["machines", "clusters"])
        #expect(tla1.configuration.servedTables == nil)
        #expect(tla2.configuration.servedTables == ["processes", "software_versions", "clusters"])
        #expect(tla0.configuration.partitions.map(\.nodes) == [["sql:1"], ["sql:0"]])
        #expect(tla0.configuration.prewarm == ["machines"] && tla2.configuration.prewarm == ["processes"])
        let sql0 = try #require(sim.role(of: "sql:0") as? QueryNode)
        let sql1 = try #require(sim.role(of: "sql:1") as? QueryNode)
        let sql2 = try #require(sim.role(of: "sql:2") as? QueryNode)
        // A SQL node lists its set's TLAs, those serving its tables first (tla:0 does not serve
        // sql:0's processes: a standby that redirects them).
        #expect(sql0.configuration.aggregators == ["tla:1", "tla:0"])
        #expect(sql1.configuration.aggregators == ["tla:1", "tla:0"])
        #expect(sql2.configuration.aggregators == ["tla:2"])
        #expect(sql1.configuration.servedTables == ["machines", "clusters"])
        #expect(sql0.configuration.prewarm == ["processes"])
        #expect(sql2.configuration.servedTables == nil && sql2.configuration.prewarm == ["machines", "processes"])
    }

    @Test("a flat fleet's roles are configured as they always were")
    func flat() throws {
        let fleet = try fleet(FleetPartitioning())
        fleet.start()
        let sql1 = try #require(fleet.simulation.role(of: "sql:1") as? QueryNode)
        #expect(sql1.configuration.aggregators == ["tla:1", "tla:2", "tla:0"])
        #expect(sql1.configuration.aggregatorSet == nil && sql1.configuration.servedTables == nil)
        let tla1 = try #require(fleet.simulation.role(of: "tla:1") as? Aggregator)
        #expect(tla1.configuration.clusters.count == 3 && tla1.configuration.partitions.isEmpty)
    }

    @Test("bad partitionings are refused with the entry's path")
    func validation() {
        func message(_ p: FleetPartitioning) -> String {
            do {
                try p.validate(Self.shape)
                return "no error"
            } catch { return error.message }
        }
        #expect(message(.init(subnetworks: [.init(aggregator: 3, clusters: [0])])).hasPrefix("subnetworks[0].tla[0]: TLA 3 is not in the fleet"))
        #expect(message(.init(subnetworks: [.init(aggregator: 0, clusters: [1, 1])])).hasPrefix("subnetworks[0].clusters[1]: cluster 1 is listed twice"))
        #expect(message(.init(subnetworks: [.init(aggregator: 0, clusters: [])])).hasPrefix("subnetworks[0].clusters: "))
        #expect(
            message(.init(subnetworks: [.init(aggregator: 0, clusters: [0]), .init(aggregator: 0, clusters: [1])]))
                .hasPrefix("subnetworks[1].tla: tla:0 already has a subnetwork"))
        #expect(
            message(.init(aggregatorSets: [.init(name: "a", aggregators: [0], sqlNodes: [0]), .init(name: "b", aggregators: [1, 0], sqlNodes: [1])]))
                .hasPrefix("aggregatorSets[1].tlas[1]: tla:0 is already in aggregatorSets[0]"))
        #expect(message(.init(aggregatorSets: [.init(name: "a", aggregators: [0], sqlNodes: [])])).hasPrefix("aggregatorSets[0].sqlNodes: "))
        #expect(
            message(.init(tablePartitions: [.init(name: "p", tables: ["machines"], aggregators: [], sqlNodes: [])]))
                .hasPrefix("tablePartitions[0].sqlNodes: a partition needs at least one SQL node"))
        #expect(
            message(.init(tablePartitions: [
                .init(name: "p", tables: ["machines"], aggregators: [], sqlNodes: [0]),
                .init(name: "q", tables: ["processes", "machines"], aggregators: [], sqlNodes: [1]),
            ]))
            .hasPrefix("tablePartitions[1].tables[1]: 'machines' is already served by tablePartitions[0]"))
        #expect(throws: QueryError.self) {
            _ = try Fleet(
                FleetConfiguration(shape: Self.shape, partitioning: .init(subnetworks: [.init(aggregator: 0, clusters: [7])])),
                evaluator: CountingEvaluator())
        }
    }

    @Test("queries sent to a node or TLA of the wrong partition are redirected and answered; a subnetwork TLA counts its clusters")
    func redirectAndSubnetwork() throws {
        let fleet = try fleet()
        let checker = InvariantChecker(fleet: fleet)
        fleet.start()
        // sql:0 (procs) redirects a question about machines itself; sql:2 serves everything but
        // its TLA (procs) does not serve machines: the TLA's redirect reaches the client.
        let byNode = fleet.submit("SELECT count(*) FROM machines", to: "sql:0", at: .seconds(60))
        let byTLA = fleet.submit("SELECT count(*) FROM machines", to: "sql:2", at: .seconds(60))
        let sub = fleet.submit("SELECT count(*) FROM processes", to: "sql:0", at: .seconds(60))
        let mega = fleet.submit("SELECT count(*) FROM processes", to: "sql:2", at: .seconds(60))
        fleet.run(until: .seconds(100))
        checker.finish(quietSince: .zero)
        #expect(checker.violations.isEmpty, "\(checker.violations)")
        for id in [byNode, byTLA] {
            let record = try #require(fleet.simulation.query(id))
            #expect(record.redirects == 1 && record.node == "sql:1", "\(String(describing: record.outcome))")
            // sql:1 listens to tla:1, which sees clusters 0 and 2 only.
            #expect(answer(fleet, id).map { $0.result.rows } == [[.integer(4)]])
            #expect(answer(fleet, id)?.completeness.tables.first?.clustersKnown == 2)
        }
        // sql:0 listens to tla:1 too; sql:2 to tla:2, a mega TLA.
        let figures = try #require(answer(fleet, sub)?.completeness.tables.first)
        #expect(figures.clustersKnown == 2 && figures.machinesContributing == 4, "\(figures)")
        #expect(answer(fleet, sub).map { $0.result.rows } == [[.integer(100)]])
        #expect(answer(fleet, mega)?.completeness.tables.first?.clustersKnown == 3)
        #expect(answer(fleet, mega).map { $0.result.rows } == [[.integer(150)]])
    }
}

extension PartitionedFleetTests {
    /// The `partitioned` word: a few cheap seeds, alone and with every other fault.
    @Test("partitioned seed sweep", arguments: 1...3 as ClosedRange<UInt64>)
    func sweep(seed: UInt64) throws {
        let queries = SeedSweepTests.queries + ["SELECT count(*) FROM machines", "SELECT count(*) FROM software_versions"]
        for (seed, faults) in [
            (seed, FaultMix(partitioned: true)),
            (seed + 3, FaultMix(crashes: true, partitions: true, network: true, skew: true, correlated: true, onDemand: true, shapes: true, partitioned: true)),
        ] {
            let result = try SeedRun(queries: queries).run(seed: seed, faults: faults, evaluator: CountingEvaluator())
            #expect(!result.partitioning.isEmpty)
            #expect(
                result.violations.isEmpty,
                "seed \(seed) (\(result.partitioning.summary)); replay: swift run query-sim --seeds \(seed) --faults \(faults)\n\(result.violations.prefix(5))")
            #expect(result.answered > 0)
        }
    }

    @Test("the partitioned word parses, prints and leaves other mixes alone")
    func faultWord() {
        #expect(FaultMix(parsing: "partitioned") == FaultMix(partitioned: true))
        let all = FaultMix(parsing: "mix,correlated,ondemand,shapes,partitioned")
        #expect(all?.partitioned == true && all?.shapes == true && all?.crashes == true)
        #expect(FaultMix(parsing: all!.description) == all)
        #expect(FaultMix.names.contains("partitioned") && FaultMix.mix.partitioned == false)
        // Drawn from a stream of its own: the same seed, the same partitioning.
        let shape = FleetShape(clusters: 3, machinesPerCluster: 2, aggregators: 2, sqlNodes: 2)
        #expect(SeedRun.drawPartitioning(seed: 9, shape: shape) == SeedRun.drawPartitioning(seed: 9, shape: shape))
        for seed in 1...40 as ClosedRange<UInt64> {
            let drawn = SeedRun.drawPartitioning(seed: seed, shape: shape)
            #expect(!drawn.isEmpty)
            #expect(throws: Never.self) { try drawn.validate(shape) }
        }
    }
}
