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
}
