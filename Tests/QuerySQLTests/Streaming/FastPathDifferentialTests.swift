import QueryCore
import Testing
@testable import QuerySQL

/// The engine's specialised per-event paths against its general ones, on seeded random
/// statements and events: flat aggregation (``AggregatingInput``) against the row pipeline, and
/// compiled stream filters (``EventPredicate``) against expression evaluation.
@Suite struct FastPathDifferentialTests {
    static let schema = "create schema S(host string, k int, v int, w double)"

    /// A random statement the flat path accepts (single stream, aggregated, no output clause).
    static func randomStatement(_ rng: inout SeededGenerator) -> String {
        let windows = ["", ".win:length(1)", ".win:length(3)", ".win:length(7)", ".win:time(1 sec)", ".win:time(2 sec)", ".win:time(5 sec)"]
        let groupings: [(select: String, groupBy: String)] = [
            ("", ""), ("host, ", " group by host"), ("k, ", " group by k"), ("host, k, ", " group by host, k"),
            ("", " group by k % 2"),
        ]
        let aggregates = [
            "count(*) as n", "count(v) as nv", "sum(v) as s", "avg(v) as a", "min(v) as lo", "max(v) as hi",
            "total(w) as tw", "min(w) as lw", "max(w) as hw", "avg(w) as aw", "count(distinct v) as dv",
            "sum(distinct k) as sk", "max(distinct v) as mv",
        ]
        let wheres = ["", " where v > -10", " where host != 'h1'", " where w is not null", " where v > 0 and k < 4"]
        let havings = ["", " having count(*) > 1", " having avg(v) > 0", " having sum(v) < 20 or max(v) is null"]
        let filters = ["", "(k != 3)", "(host in ('h1', 'h2', 'h3'))", "(v >= 0)"]
        let chosen = (0..<Int.random(in: 1...4, using: &rng)).map { _ in aggregates.randomElement(using: &rng)! }
        let grouping = groupings.randomElement(using: &rng)!
        let items = grouping.select + Array(Set(chosen)).sorted().joined(separator: ", ")
        return "select \(items) from S\(filters.randomElement(using: &rng)!)\(windows.randomElement(using: &rng)!)"
            + wheres.randomElement(using: &rng)! + grouping.groupBy + havings.randomElement(using: &rng)!
    }

    /// Outputs per statement, in order (the order among statements at one instant is not part of
    /// the contract: expiries of different statements at the same time may come in either order).
    static func byStatement(_ outputs: [StreamOutput]) -> [StatementID: [StreamOutput]] {
        Dictionary(grouping: outputs, by: \.statement)
    }

    @Test(arguments: 1...12 as ClosedRange<UInt64>)
    func flatAggregationMatchesRowPipeline(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let flat = StreamEngine(), general = StreamEngine()
        general.usesFlatAggregation = false
        try flat.createStatement(Self.schema)
        try general.createStatement(Self.schema)
        var texts: [String] = []
        for _ in 0..<6 {
            let text = Self.randomStatement(&rng)
            texts.append(text)
            try flat.createStatement(text)
            try general.createStatement(text)
        }
        #expect(flat.statementIDs.contains { (flat.statementRuntime($0) as? SelectStatementRuntime)?.aggregating != nil })
        #expect(!general.statementIDs.contains { (general.statementRuntime($0) as? SelectStatementRuntime)?.aggregating != nil })
        var flatOut: [StreamOutput] = [], generalOut: [StreamOutput] = []
        var time = 0.0
        let hosts = ["h1", "h2", "h3", "h4", "h5"]
        for _ in 0..<300 {
            time += Double(Int.random(in: 0...3, using: &rng)) * 0.25
            if Int.random(in: 0..<10, using: &rng) == 0 {
                time += Double(Int.random(in: 1...8, using: &rng))
                flatOut += flat.advance(to: .seconds(time))
                generalOut += general.advance(to: .seconds(time))
            }
            let v: Value = Int.random(in: 0..<6, using: &rng) == 0 ? .null : .integer(Int64.random(in: -20...20, using: &rng))
            let w: Value = Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -100...100, using: &rng)) / 8)
            let values: [Value] = [.text(hosts.randomElement(using: &rng)!), .integer(Int64.random(in: 0..<6, using: &rng)), v, w]
            flatOut += try flat.send("S", values, at: .seconds(time))
            generalOut += try general.send("S", values, at: .seconds(time))
        }
        flatOut += flat.advance(to: .seconds(time + 10))
        generalOut += general.advance(to: .seconds(time + 10))
        #expect(flatOut.count == generalOut.count, "seed \(seed)")
        #expect(flatOut.count > 100, "seed \(seed): too few triggers to compare")
        let a = Self.byStatement(flatOut), b = Self.byStatement(generalOut)
        for (i, text) in texts.enumerated() {
            let id = StatementID(i + 2)
            let x = a[id] ?? [], y = b[id] ?? []
            #expect(x == y, "seed \(seed), statement \(text): \(x.count) vs \(y.count) triggers; first difference \(Array(zip(x, y)).first { $0.0 != $0.1 }.map { "\($0.0) vs \($0.1)" } ?? "in length")")
        }
    }

    @Test func flatAggregationReleasesEmptyGroups() throws {
        let engine = StreamEngine()
        try engine.createStatement(Self.schema)
        let id = try engine.createStatement("select host, avg(v) as a from S.win:time(1 sec) group by host")
        let input = try #require((engine.statementRuntime(id) as? SelectStatementRuntime)?.aggregating)
        for i in 0..<100 { _ = try engine.send("S", [.text("h\(i)"), 1, 1, 1.0], at: .seconds(Double(i) * 0.01)) }
        #expect(input.groupCount == 100)
        let expired = engine.advance(to: .seconds(5))
        #expect(expired.flatMap(\.rows).count == 100)
        #expect(expired.allSatisfy { $0.rows.allSatisfy { $0[1] == .null } })
        #expect(input.groupCount == 0)
        #expect(engine.nextTimer == nil)
    }

    @Test(arguments: 1...4 as ClosedRange<UInt64>)
    func compiledFiltersMatchExpressionEvaluation(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let fields = ["host", "k", "v", "w"]
        let constants = ["3", "-2", "0", "2.5", "'h2'", "'10'", "null", "true"]
        let ops = ["=", "!=", "<", "<=", ">", ">="]
        let schema = try Schema([
            ColumnDefinition("host", .text), ColumnDefinition("k", .integer), ColumnDefinition("v", .integer),
            ColumnDefinition("w", .real),
        ])
        var compiler = ExpressionCompiler(positions: [ScopePosition(alias: nil, streamName: "S", schema: schema)], source: "")
        for _ in 0..<200 {
            var parts: [String] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let f = fields.randomElement(using: &rng)!, c = constants.randomElement(using: &rng)!
                let op = ops.randomElement(using: &rng)!
                parts.append(Bool.random(using: &rng) ? "\(f) \(op) \(c)" : "\(c) \(op) \(f)")
            }
            if Int.random(in: 0..<4, using: &rng) == 0 { parts.append("v + k > 1") }
            let text = parts.joined(separator: " and ")
            var parser = try EPLParser("select * from S(\(text))")
            guard case .select(let select) = try parser.parseStatement(), case .streams(let specs) = select.from,
                let filter = specs[0].filter
            else { Issue.record("cannot parse \(text)"); return }
            let compiled = try compiler.compile(filter)
            let predicate = EventPredicate(compiled)
            for _ in 0..<20 {
                let values: [Value] = [
                    Bool.random(using: &rng) ? .text(["h1", "h2", "10"].randomElement(using: &rng)!) : .null,
                    Bool.random(using: &rng) ? .integer(Int64.random(in: -3...3, using: &rng)) : .null,
                    Bool.random(using: &rng) ? .integer(Int64.random(in: -3...3, using: &rng)) : .null,
                    Bool.random(using: &rng) ? .real(Double(Int.random(in: -6...6, using: &rng)) / 2) : .null,
                ]
                let event = Event(stream: 0, time: .zero, sequence: 1, values: values)
                #expect(predicate.isTrue(event) == compiled.isTrue(.one(event)), "\(text) on \(values)")
            }
        }
    }
}
