import QueryCore
import Testing
@testable import QuerySQL

/// Shared views (``AggregationView``: statements with the same stream, filter, window, `WHERE` and
/// `GROUP BY` share one ring of entries and one group numbering) against every statement having
/// its own (`sharesViews = false`), on seeded random statements that mostly share, created and
/// removed while events flow: the two engines must produce the same triggers in the same order at
/// the same times, value for value. The unshared flat path is itself checked against the general
/// row pipeline by ``AggregatingInputDifferentialTests``; here it is checked once more per
/// statement, so sharing is compared with the reference evaluator too.
@Suite struct ViewSharingDifferentialTests {
    typealias Reference = AggregatingInputDifferentialTests

    /// A few shapes (filter, window, `WHERE`, grouping); statements of one shape share a view.
    static func randomShape(_ rng: inout SeededGenerator) -> (from: String, rest: String, select: String) {
        let windows = [".win:length(3)", ".win:length(20)", ".win:time(1 sec)", ".win:time(1500 msec)", ""]
        let filters = ["", "(k != 3)", "(host in ('h1', 'h2', 'h3', 'h4'))", "(v >= 0)"]
        let wheres = ["", " where v > -5", " where w is null", " where v + k > 2"]
        let groupings: [(select: String, groupBy: String)] = [
            ("", ""), ("host, ", " group by host"), ("k, ", " group by k"), ("host, k, ", " group by host, k"),
            ("", " group by k % 3"), ("r, ", " group by r"),
        ]
        let grouping = groupings.randomElement(using: &rng)!
        let from = "T\(filters.randomElement(using: &rng)!)\(windows.randomElement(using: &rng)!)"
        return (from, wheres.randomElement(using: &rng)! + grouping.groupBy, grouping.select)
    }

    static func randomStatement(_ shape: (from: String, rest: String, select: String), _ rng: inout SeededGenerator) -> String {
        let aggregates = [
            "count(*) as n", "count(v) as nv", "sum(v) as s", "avg(v) as a", "avg(w) as aw", "total(w) as tw",
            "min(v) as lo", "max(w) as hw", "count(distinct v) as dv", "sum(v * 2 + k) as e",
        ]
        let havings = [
            "", " having count(*) > 1", " having avg(v) > 2", " having 3 < max(v)", " having sum(w) <= 10.5",
            " having min(w) is null or avg(v) > 0", " having count(*) > 1 and sum(v) < 30",
        ]
        let chosen = (0..<Int.random(in: 1...3, using: &rng)).map { _ in aggregates.randomElement(using: &rng)! }
        let items = shape.select + Array(Set(chosen)).sorted().joined(separator: ", ")
        return "select \(items) from \(shape.from)\(shape.rest)\(havings.randomElement(using: &rng)!)"
    }

    /// One step of a run: an event, a clock advance, or a statement created or removed.
    enum Step {
        case send([Value], Int64)
        case advance(Int64)
        case create(String)
        case remove(Int)
    }

    static func script(seed: UInt64, events: Int) -> [Step] {
        var rng = SeededGenerator(seed: seed)
        let shapes = (0..<3).map { _ in randomShape(&rng) }
        var steps: [Step] = []
        for _ in 0..<6 { steps.append(.create(randomStatement(shapes.randomElement(using: &rng)!, &rng))) }
        var ms: Int64 = 0
        let reals: [Value] = [.real(0.5), .real(1), .real(-0.0), .real(0), .real(2.25), .null]
        for _ in 0..<events {
            ms += Int64(Int.random(in: 0...2, using: &rng)) * 250
            switch Int.random(in: 0..<40, using: &rng) {
            case 0..<2: steps.append(.create(randomStatement(shapes.randomElement(using: &rng)!, &rng)))
            case 2: steps.append(.remove(Int.random(in: 0..<100, using: &rng)))
            case 3..<6:
                ms += Int64(Int.random(in: 1...6, using: &rng)) * 500
                steps.append(.advance(ms))
            default: break
            }
            let host: Value = Int.random(in: 0..<15, using: &rng) == 0 ? .null : .text("h\(Int.random(in: 0..<6, using: &rng))")
            let k: Value = Int.random(in: 0..<15, using: &rng) == 0 ? .null : .integer(Int64.random(in: 0..<5, using: &rng))
            let v: Value = Int.random(in: 0..<6, using: &rng) == 0 ? .null : .integer(Int64.random(in: -8...12, using: &rng))
            let w: Value = Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -40...40, using: &rng)) / 8)
            steps.append(.send([host, k, reals.randomElement(using: &rng)!, v, w], ms))
        }
        steps.append(.advance(ms + 10_000))
        return steps
    }

    /// Runs a script; returns the triggers and, per statement created, its text.
    static func run(
        _ steps: [Step], configure: (StreamEngine) -> Void
    ) throws -> (outputs: [StreamOutput], texts: [StatementID: String], engine: StreamEngine) {
        let engine = StreamEngine()
        configure(engine)
        try engine.createStatement(Reference.schema)
        var outputs: [StreamOutput] = []
        var texts: [StatementID: String] = [:]
        for step in steps {
            switch step {
            case .send(let values, let ms): outputs += try engine.send("T", values, at: .milliseconds(ms))
            case .advance(let ms): outputs += engine.advance(to: .milliseconds(ms))
            case .create(let text): texts[try engine.createStatement(text)] = text
            case .remove(let pick):
                let live = engine.statementIDs.filter { texts[$0] != nil }
                if !live.isEmpty { engine.removeStatement(live[pick % live.count]) }
            }
        }
        return (outputs, texts, engine)
    }

    @Test(arguments: 1...12 as ClosedRange<UInt64>)
    func sharedViewsMatchUnshared(seed: UInt64) throws {
        let steps = Self.script(seed: seed, events: 500)
        let shared = try Self.run(steps) { _ in }
        let unshared = try Self.run(steps) { $0.sharesViews = false }
        let general = try Self.run(steps) { $0.usesFlatAggregation = false }
        // Sharing happened: fewer views than aggregating statements at the end.
        let views = shared.engine.statementIDs.compactMap {
            (shared.engine.statementRuntime($0) as? SelectStatementRuntime)?.aggregating?.view
        }
        let shares = views.count - Set(views.map(ObjectIdentifier.init)).count
        #expect(shares > 0, "seed \(seed): no two statements share a view")
        #expect(shared.outputs.count > 100, "seed \(seed): too few triggers to compare")
        // Exactly the same sequence, order included.
        #expect(shared.outputs.count == unshared.outputs.count, "seed \(seed)")
        let difference = zip(shared.outputs, unshared.outputs).enumerated().first { !Reference.same($0.element.0, $0.element.1) }
        #expect(difference == nil, "seed \(seed): trigger \(difference?.offset ?? -1) differs: \(difference.map { "\($0.element.0) vs \($0.element.1)" } ?? "")")
        // And per statement, the reference row pipeline agrees.
        let a = Dictionary(grouping: shared.outputs, by: \.statement), b = Dictionary(grouping: general.outputs, by: \.statement)
        for (id, text) in shared.texts {
            let x = a[id] ?? [], y = b[id] ?? []
            let first = zip(x, y).first { !Reference.same($0.0, $0.1) }
            #expect(x.count == y.count && first == nil, "seed \(seed), \(id) \(text): \(x.count) vs \(y.count); \(first.map { "\($0.0) vs \($0.1)" } ?? "")")
        }
    }

    /// A statement created after events entered a view it shares sees none of them: its first
    /// trigger counts only its own events, and events from before it leave without touching it.
    @Test func lateStatementStartsEmpty() throws {
        let engine = StreamEngine()
        try engine.createStatement("create schema S(host string, v int)")
        let first = try engine.createStatement("select host, count(*) as n from S.win:time(10 sec) group by host")
        for s in 0..<3 { _ = try engine.send("S", ["a", .integer(Int64(s))], at: .seconds(Double(s))) }
        let late = try engine.createStatement("select host, count(*) as n, sum(v) as s from S.win:time(10 sec) group by host")
        let firstView = (engine.statementRuntime(first) as? SelectStatementRuntime)?.aggregating?.view
        let lateView = (engine.statementRuntime(late) as? SelectStatementRuntime)?.aggregating?.view
        #expect(firstView != nil && firstView === lateView)
        let out = try engine.send("S", ["a", 7], at: .seconds(5))
        #expect(out.first { $0.statement == first }?.rows == [["a", 4]])
        #expect(out.first { $0.statement == late }?.rows == [["a", 1, 7]])
        // At 10 s, 11 s and 12 s the early events leave the first statement only.
        var early: [StreamOutput] = []
        for s in 10...12 { early += engine.advance(to: .seconds(Double(s))) }
        #expect(early.allSatisfy { $0.statement == first })
        #expect(early.map(\.rows) == [[["a", 3]], [["a", 2]], [["a", 1]]])
        // At 15 s the shared event leaves both.
        let last = engine.advance(to: .seconds(15))
        #expect(last.map(\.statement) == [first, late])
        #expect(last.map(\.rows) == [[["a", 0]], [["a", 0, .null]]])
        // Removing both drops the view; a new statement gets a fresh one.
        engine.removeStatement(first)
        engine.removeStatement(late)
        let again = try engine.createStatement("select host, count(*) as n from S.win:time(10 sec) group by host")
        #expect((engine.statementRuntime(again) as? SelectStatementRuntime)?.aggregating?.view !== firstView)
    }
}
