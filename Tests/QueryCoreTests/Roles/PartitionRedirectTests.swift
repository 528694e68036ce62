import QueryCore
import Testing

/// A SQL node serving a partition whose TLAs do not all serve it (`query-sim --faults partitioned`,
/// seeds 196, 202 and 227 before the fix): a TLA's redirect for a table the node serves itself
/// says only that the TLA cannot supply it. Passed on to the node's clients it sent them back to
/// the node's own partition, i.e. to the node itself, until they gave up after three redirects;
/// and the table was never asked for again, so a prewarmed table never arrived.
@Suite("Redirects from TLAs of another partition")
struct PartitionRedirectTests {
    /// Two TLAs; the SQL node serves `processes` (partition `procs`, at the SQL node itself) and
    /// lists them in order. The TLAs listed in `refusing` serve only `machines`.
    func fleet(refusing: Set<Int>, prewarm: [TableName]) -> (Fixtures.Fleet, Pump) {
        var fleet = Fixtures.Fleet()
        fleet.tlas = 2
        fleet.prewarm = prewarm
        var pump = fleet.build()
        let procs = TablePartition(name: "procs", tables: [Fixtures.processes], nodes: [fleet.sql])
        for i in refusing.sorted() {
            var configuration = fleet.tlaConfiguration()
            configuration.servedTables = ["machines"]
            configuration.partitions = [procs]
            pump.restart(Aggregator(id: fleet.tla(i), configuration: configuration))
        }
        var configuration = fleet.queryConfiguration()
        configuration.servedTables = [Fixtures.processes]
        configuration.partitions = [procs]
        pump.restart(QueryNode(id: fleet.sql, configuration: configuration, evaluator: TinyEvaluator()))
        return (fleet, pump)
    }

    @Test func aStandbyTLAsRedirectDoesNotSendTheNodesOwnQueriesBackToIt() throws {
        var (fleet, pump) = fleet(refusing: [1], prewarm: [Fixtures.processes])
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 1)
        #expect(pump.redirects.isEmpty, "\(pump.redirects)")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        #expect(pump.role(fleet.sql, as: QueryNode.self).interest == [Fixtures.processes])
    }

    @Test func theActiveTLAsRedirectMakesTheNodeFailOverToATLAServingTheTable() throws {
        var (fleet, pump) = fleet(refusing: [0], prewarm: [])
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 20)
        #expect(pump.redirects.isEmpty, "\(pump.redirects)")
        #expect(pump.role(fleet.sql, as: QueryNode.self).activeAggregator == fleet.tla(1))
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
    }

    @Test func withNoTLAServingItsTableTheNodeFailsTheQueryInsteadOfRedirectingToItself() throws {
        var (fleet, pump) = fleet(refusing: [0, 1], prewarm: [])
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 5)
        #expect(pump.redirects.isEmpty, "\(pump.redirects)")
        guard case .failure(let error)? = pump.answer(fleet.sql, 1) else {
            Issue.record("expected a failure, got \(String(describing: pump.answer(fleet.sql, 1)))")
            return
        }
        #expect(error.code == .unavailable && error.message.contains("no TLA of sql:0 serves processes"), "\(error)")
    }
}
