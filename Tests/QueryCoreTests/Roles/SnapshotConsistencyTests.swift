import Testing

@testable import QueryCore

/// A SQL node answers a query over several tables only from tables at most one generation apart.
///
/// A table deferred to a TLA child arrives in a second update a moment after the others; after a
/// partition or failover (`query-sim --seeds 110 --faults crash,network,correlated`) that moment
/// separated generation 20 of `processes` from generation 11 of `software_versions`, and a join
/// answered then spanned 90 s of publish times.
@Suite struct SnapshotConsistencyTests {
    let schedule = GenerationSchedule(interval: .seconds(10))
    let tla: NodeID = "tla:0"
    let edge: NodeID = "edge:0.0"
    let versions: TableName = "software_versions"

    /// `JOIN a b`: reads both tables and counts their rows.
    struct JoinCounter: QueryEvaluator {
        func tablesReferenced(by sql: String, catalog: any TableCatalog) throws(QueryError) -> Set<TableName> {
            let words = sql.split(separator: " ").map(String.init)
            guard words.count == 3, words[0] == "JOIN" else { throw QueryError(.syntaxError, "expected JOIN a b") }
            return [try TableName(validating: words[1]), try TableName(validating: words[2])]
        }

        func evaluate(_ sql: String, in catalog: any TableCatalog) throws(QueryError) -> QueryResult {
            let names = try tablesReferenced(by: sql, catalog: catalog).sorted()
            let count = names.reduce(0) { $0 + (catalog.table($1)?.rowCount ?? 0) }
            return QueryResult(columns: ["rows"], rows: [[.integer(Int64(count))]])
        }
    }

    func node(queryTimeout: Duration = .seconds(20)) -> QueryNode {
        var node = QueryNode(
            id: "sql:0",
            configuration: .init(
                aggregators: [tla], schedule: schedule, queryTimeout: queryTimeout, prewarm: [Fixtures.processes, versions]),
            evaluator: JoinCounter())
        _ = node.handle(.started, now: .zero)
        return node
    }

    func update(_ generation: UInt64, _ tables: [TableName], version: Version) -> RoleInput {
        let entries = tables.map { table in
            TableEntry(
                table: table,
                copies: [
                    OriginCopy(
                        origin: edge, copy: .full(version: version, segment: Fixtures.rows(edge, count: 2)),
                        publishedAt: schedule.generation(generation).time)
                ],
                completeness: TableCompleteness())
        }
        return .received(.update(GenerationUpdate(generation: schedule.generation(generation), entries: entries)), from: tla)
    }

    func answers(_ actions: [RoleAction]) -> [(QueryID, Result<QueryAnswer, QueryError>)] {
        actions.compactMap { if case .answer(let id, let result) = $0 { (id, result) } else { nil } }
    }

    func ask(_ node: inout QueryNode, _ id: UInt64, at seconds: Double) -> [RoleAction] {
        node.handle(.query(QueryRequest(id: QueryID(id), sql: "JOIN processes \(versions)")), now: .seconds(seconds))
    }

    @Test func aQueryWaitsForATableMoreThanOneGenerationBehind() throws {
        var node = node()
        _ = node.handle(update(1, [Fixtures.processes, versions], version: 1), now: .seconds(10.1))
        // One generation apart (the deferred table's second update is on its way): answered.
        _ = node.handle(update(2, [Fixtures.processes], version: 2), now: .seconds(20.1))
        let first = answers(ask(&node, 1, at: 20.2))
        #expect(first.count == 1)
        #expect(try first.first?.1.get().generation.number == 1)
        // Two apart: the query waits...
        _ = node.handle(update(3, [Fixtures.processes], version: 3), now: .seconds(30.1))
        #expect(answers(ask(&node, 2, at: 30.2)).isEmpty)
        #expect(node.waitingQueries == [QueryID(2)])
        // ...and is answered from generation 3 once the lagging table arrives.
        let later = answers(node.handle(update(3, [versions], version: 3), now: .seconds(30.3)))
        #expect(later.count == 1 && later.first?.0 == QueryID(2))
        let answer = try #require(try later.first?.1.get())
        #expect(answer.generation.number == 3)
        #expect(answer.completeness.newestPublish == answer.completeness.oldestPublish)
    }

    @Test func aQueryWhoseTablesNeverCatchUpFailsCleanlyAfterTheTimeout() throws {
        var node = node(queryTimeout: .seconds(15))
        _ = node.handle(update(1, [Fixtures.processes, versions], version: 1), now: .seconds(10.1))
        _ = node.handle(update(2, [Fixtures.processes], version: 2), now: .seconds(20.1))
        _ = node.handle(update(3, [Fixtures.processes], version: 3), now: .seconds(30.1))
        let waiting = ask(&node, 7, at: 30.2)
        #expect(answers(waiting).isEmpty)
        guard case .setTimer(let timer, let at)? = waiting.first(where: { if case .setTimer = $0 { true } else { false } })
        else {
            Issue.record("no timeout timer set")
            return
        }
        #expect(at == .seconds(45.2))
        let failed = answers(node.handle(.timerFired(timer), now: at))
        #expect(failed.count == 1)
        guard case .failure(let error)? = failed.first?.1 else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .timeout)
        #expect(error.message.contains("'software_versions' at 1") && error.message.contains("'processes' at 3"), "\(error.message)")
    }
}
