import Testing

@testable import QueryCore

/// On-demand tables, query timeouts, interest expiry, prewarm and views at the SQL node.
@Suite struct InterestTests {
    @Test func prewarmedTablesArePresentBeforeAnyQuery() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.run(seconds: 15)
        let node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.snapshot.table(Fixtures.processes)?.rowCount == 12)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
    }

    @Test func aMissingTableIsRequestedAndTheQueryAnsweredInAFutureGeneration() throws {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        var pump = fleet.build()
        pump.run(seconds: 25)
        #expect(pump.role(fleet.sql, as: QueryNode.self).snapshot.table(Fixtures.processes) == nil)
        let before = pump.sent.count
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        #expect(pump.answer(fleet.sql, 1) == nil)
        #expect(pump.role(fleet.sql, as: QueryNode.self).waitingQueries == [QueryID(1)])
        // Interest travels up at once, tier by tier…
        let requests = pump.sent[before...].filter { if case .request = $0.message { true } else { false } }
        #expect(requests.contains { $0.from == fleet.sql } && requests.contains { $0.to == fleet.edge(1, 1) })
        // …but no table data moves out of turn.
        #expect(!pump.sent[before...].contains { if case .update = $0.message { true } else { false } })
        pump.run(seconds: 10)
        let answered = try #require(pump.answers.last { $0.id == QueryID(1) })
        #expect(answered.at == .seconds(30))
        let answer = try answered.result.get()
        #expect(answer.result.rows == [[.integer(12)]])
        #expect(answer.generation.number == 4)  // asked in generation 3, answered from generation 4
    }

    @Test func aQueryForATableNobodyPublishesTimesOutWithAClearError() throws {
        var fleet = Fixtures.Fleet()
        fleet.queryTimeout = .seconds(20)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM nothing_here")
        pump.run(seconds: 19)
        #expect(pump.answer(fleet.sql, 1) == nil)
        pump.run(seconds: 2)
        let failure = try #require(pump.answers.last { $0.id == QueryID(1) })
        #expect(failure.at == .seconds(45))
        guard case .failure(let error) = failure.result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("'nothing_here'"))
        #expect(error.message.contains("tla:0"))
    }

    @Test func unusedInterestExpiresAndTheTableStopsFlowing() throws {
        var fleet = Fixtures.Fleet()
        fleet.prewarm = []
        fleet.idleExpiry = .seconds(30)
        var pump = fleet.build()
        pump.run(seconds: 25)
        pump.query(fleet.sql, 1, "SELECT count(*) FROM processes")
        pump.run(seconds: 10)
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(12)]])
        // Used again at t=45: the clock restarts.
        pump.advance(to: .seconds(45))
        pump.query(fleet.sql, 2, "SELECT count(*) FROM processes")
        pump.advance(to: .seconds(70))
        #expect(pump.role(fleet.sql, as: QueryNode.self).interest == [Fixtures.processes])
        // Unused since t=45: gone after the SQL node's slot past t=75, and the TLA's lease lapses after that.
        pump.advance(to: .seconds(80))
        let node = pump.role(fleet.sql, as: QueryNode.self)
        #expect(node.interest.isEmpty)
        #expect(node.snapshot.table(Fixtures.processes) == nil)
        pump.advance(to: .seconds(160))
        let before = pump.sent.count
        pump.run(seconds: 20)
        let late = pump.sent[before...].filter { sent in
            if case .update(let update) = sent.message {
                return update.entries.contains { $0.table == Fixtures.processes }
            }
            return false
        }
        #expect(late.isEmpty)
    }

    @Test func viewsAreComputedOncePerGeneration() throws {
        let fleet = Fixtures.Fleet()
        let schedule = fleet.schedule
        var pump = fleet.build()
        // Replace the SQL node with one that has a view.
        var configuration = fleet.queryConfiguration()
        configuration.views = ["small": "SELECT * FROM processes WHERE rss = 100"]
        pump.restart(QueryNode(id: fleet.sql, configuration: configuration, evaluator: TinyEvaluator()))
        pump.advance(to: schedule.slot(.query, of: 2))
        pump.query(fleet.sql, 1, "SELECT count(*) FROM small")
        pump.query(fleet.sql, 2, "SELECT process_name FROM small")
        #expect(try pump.answer(fleet.sql, 1)?.get().result.rows == [[.integer(4)]])
        #expect(try pump.answer(fleet.sql, 2)?.get().result.rows.count == 4)
        #expect(pump.counter("query.views_computed") == 1)
        pump.run(seconds: 10)
        pump.query(fleet.sql, 3, "SELECT count(*) FROM small")
        #expect(pump.counter("query.views_computed") == 2)
        // The completeness of a view's answer is that of its base table.
        #expect(try pump.answer(fleet.sql, 3)?.get().completeness.tables.map(\.table) == [Fixtures.processes])
    }

    @Test func badSQLFailsAtOnce() throws {
        let fleet = Fixtures.Fleet()
        var pump = fleet.build()
        pump.query(fleet.sql, 1, "DELETE everything")
        guard case .failure(let error)? = pump.answer(fleet.sql, 1) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .syntaxError)
    }
}
