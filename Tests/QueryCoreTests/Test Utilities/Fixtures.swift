import Testing
@testable import QueryCore

/// Rows and fleets for role tests.
enum Fixtures {
    static let processes: TableName = "processes"
    static let schema = try! Schema(
        [("machine_id", .text), ("process_name", .text), ("rss", .integer)],
        key: ["process_name"]
    )

    /// `count` process rows for `machine`, with rss offset by `bump` (to make changes).
    static func rows(_ machine: NodeID, count: Int, bump: Int64 = 0) -> Segment {
        try! Segment(
            schema: schema,
            rows: (0..<count).map { i in
                [.text(machine.rawValue), .text("p\(i)"), .integer(Int64(i) * 100 + bump)]
            }
        )
    }

    /// A small fleet: `clusters` clusters of `machines` machines, 2 proxies each, `tlas` TLAs, one SQL node.
    struct Fleet {
        var schedule = GenerationSchedule(interval: .seconds(10))
        var clusters = 2
        var machines = 2
        var tlas = 1
        var prewarm: [TableName] = [processes]
        var deferred: [TableName: NodeID] = [:]
        var queryTimeout: Duration? = nil
        var idleExpiry: Duration? = nil
        var tlaFailoverAfter: Duration? = nil
        var tlaDropAfter: Duration = .seconds(180)
        var tlaChildDropAfter: Duration? = nil

        func edge(_ c: Int, _ m: Int) -> NodeID { NodeID("edge:\(c).\(m)") }
        func proxy(_ c: Int, _ i: Int) -> NodeID { NodeID("proxy:\(c).\(i)") }
        func cluster(_ c: Int) -> NodeID { NodeID("cluster:\(c)") }
        func tla(_ i: Int) -> NodeID { NodeID("tla:\(i)") }
        let sql: NodeID = "sql:0"

        var edges: [NodeID] { (0..<clusters).flatMap { c in (0..<machines).map { edge(c, $0) } } }

        func edgeRole(_ c: Int, _ m: Int) -> EdgeAgent {
            EdgeAgent(id: edge(c, m), configuration: .init(schedule: schedule))
        }

        func proxyRole(_ c: Int, _ i: Int) -> ClusterProxy {
            ClusterProxy(
                id: proxy(c, i),
                configuration: .init(
                    cluster: cluster(c),
                    machines: (0..<machines).map { edge(c, $0) },
                    schedule: schedule
                )
            )
        }

        func tlaConfiguration() -> Aggregator.Configuration {
            Aggregator.Configuration(
                clusters: (0..<clusters).map { c in .init(cluster: cluster(c), proxies: [proxy(c, 0), proxy(c, 1)]) },
                schedule: schedule,
                dropAfter: tlaDropAfter,
                failoverAfter: tlaFailoverAfter,
                childDropAfter: tlaChildDropAfter,
                deferred: deferred
            )
        }

        func queryConfiguration() -> QueryNode.Configuration {
            QueryNode.Configuration(
                aggregators: (0..<tlas).map(tla),
                schedule: schedule,
                queryTimeout: queryTimeout,
                idleExpiry: idleExpiry,
                prewarm: prewarm
            )
        }

        /// Builds the pump with every role started and every edge publishing `rowsPerMachine` rows.
        func build(rowsPerMachine: Int = 3) -> Pump {
            var pump = Pump()
            for c in 0..<clusters {
                for m in 0..<machines {
                    pump.add(edgeRole(c, m))
                    pump.publish(edge(c, m), processes, rows(edge(c, m), count: rowsPerMachine))
                }
                pump.add(proxyRole(c, 0))
                pump.add(proxyRole(c, 1))
            }
            for i in 0..<tlas { pump.add(Aggregator(id: tla(i), configuration: tlaConfiguration())) }
            for (child, _) in deferred.sorted(by: { $0.value < $1.value }) where pump.roles[deferred[child]!] == nil {
                let id = deferred[child]!
                pump.add(AggregatorChild(id: id, configuration: .init(parent: tla(0), schedule: schedule)))
            }
            pump.add(QueryNode(id: sql, configuration: queryConfiguration(), evaluator: TinyEvaluator()))
            return pump
        }
    }

    /// A fleet (`fleet` as `configure` leaves it, `prewarm` and `idleExpiry` as given) whose SQL node
    /// was asked once, at t=25, for `processes` and answered at t=30 with its 12 rows: interest in it
    /// lapses after `idleExpiry` without use.
    static func usedOnceOnDemand(
        idleExpiry: Duration,
        prewarm: [TableName] = [],
        configure: (inout Fleet) -> Void = { _ in }
    ) throws -> (Fleet, Pump) {
        var fleet = Fleet()
        fleet.prewarm = prewarm
        fleet.idleExpiry = idleExpiry
        configure(&fleet)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        return (fleet, pump)
    }

    /// A TLA's collector of `sources` (10 s generations, `dropAfter` 30 s, a returning source
    /// stays dropped until its full state arrived), started at t=0.
    static func tlaCollector(of sources: [NodeID]) -> Collector {
        var collector = Collector(
            configuration: .init(
                tier: .aggregator, schedule: GenerationSchedule(interval: .seconds(10)), dropAfter: .seconds(30),
                deadlineTimer: TimerID("t"), role: "tla", noun: "cluster", warmUpWaitsForSilentSources: false,
                returnsWithFullState: true),
            sources: sources)
        collector.start(now: .zero)
        return collector
    }
}
