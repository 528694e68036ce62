import QueryCore
import Testing
@testable import QuerySQL

/// The per-event fast paths of aggregating statements (an event entering with nothing leaving,
/// one entry expiring, the filter index calling aggregating inputs directly, the expiry queue's
/// plain ring) on the shape that stresses trigger order: many statements over a few shared
/// views with one window length, registered interleaved so that statements of different views
/// receive the same event in turn, several events per instant so that expiries of many
/// statements fall on one instant, and statements created and removed while events flow.
/// Shared views must give exactly the unshared sequence (order included), and each statement
/// what the general row pipeline gives.
@Suite struct SharedExpiryOrderTests {
    typealias Reference = AggregatingInputDifferentialTests
    typealias Sharing = ViewSharingDifferentialTests

    static func script(seed: UInt64, events: Int) -> [Sharing.Step] {
        var rng = SeededGenerator(seed: seed)
        // Four filters, one time window: statements with the same filter share a view.
        let filters = ["", "(k != 3)", "(host in ('h1', 'h2', 'h3'))", "(v >= 0)"]
        let windows = [".win:time(1 sec)", ".win:length(4)"]
        let havings = [
            "", " having avg(v) > 2", " having avg(v) >= 2.5", " having count(*) >= 2", " having avg(w) < 0",
            " having sum(v) != 0", " having count(*) > 1 and avg(v) > 0", " having min(w) is null or avg(v) > 1",
        ]
        let window = windows[Int(seed) % windows.count]
        func statement() -> String {
            let filter = filters.randomElement(using: &rng)!
            let having = havings.randomElement(using: &rng)!
            let aggregates = ["avg(v) as a", "count(*) as n", "sum(v) as s", "avg(w) as aw", "total(w) as tw"]
            let items = Array(Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in aggregates.randomElement(using: &rng)! })).sorted()
            return "select host, \(items.joined(separator: ", ")) from T\(filter)\(window) group by host\(having)"
        }
        var steps: [Sharing.Step] = (0..<24).map { _ in .create(statement()) }
        var ms: Int64 = 0
        for _ in 0..<events {
            // Several events per instant, instants 250 ms apart: a 1 s window expires many
            // entries of many statements at one instant.
            if Int.random(in: 0..<3, using: &rng) == 0 { ms += 250 }
            switch Int.random(in: 0..<60, using: &rng) {
            case 0: steps.append(.create(statement()))
            case 1: steps.append(.remove(Int.random(in: 0..<100, using: &rng)))
            case 2:
                ms += 750
                steps.append(.advance(ms))
            default: break
            }
            let host: Value = .text("h\(Int.random(in: 0..<5, using: &rng))")
            let k: Value = .integer(Int64.random(in: 0..<5, using: &rng))
            let v: Value = Int.random(in: 0..<8, using: &rng) == 0 ? .null : .integer(Int64.random(in: -4...9, using: &rng))
            let w: Value = Int.random(in: 0..<6, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -20...20, using: &rng)) / 4)
            steps.append(.send([host, k, .real(0), v, w], ms))
        }
        steps.append(.advance(ms + 5_000))
        return steps
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func manySharedStatementsKeepTriggerOrder(seed: UInt64) throws {
        let steps = Self.script(seed: seed, events: 600)
        let shared = try Sharing.run(steps) { _ in }
        let unshared = try Sharing.run(steps) { $0.sharesViews = false }
        let general = try Sharing.run(steps) { $0.usesFlatAggregation = false }
        let views = shared.engine.statementIDs.compactMap {
            (shared.engine.statementRuntime($0) as? SelectStatementRuntime)?.aggregating?.view
        }
        #expect(views.count - Set(views.map(ObjectIdentifier.init)).count > 10, "seed \(seed): too little sharing")
        #expect(shared.outputs.count > 500, "seed \(seed): too few triggers to compare")
        // Triggers at one instant from several statements: the order among them is checked.
        let instants = Dictionary(grouping: shared.outputs, by: \.time).values
        #expect(instants.contains { Set($0.map(\.statement)).count > 5 }, "seed \(seed): no instant with many statements")
        #expect(shared.outputs.count == unshared.outputs.count, "seed \(seed)")
        let difference = zip(shared.outputs, unshared.outputs).enumerated().first { !Reference.same($0.element.0, $0.element.1) }
        #expect(difference == nil, "seed \(seed): trigger \(difference?.offset ?? -1) differs: \(difference.map { "\($0.element.0) vs \($0.element.1)" } ?? "")")
        let a = Dictionary(grouping: shared.outputs, by: \.statement), b = Dictionary(grouping: general.outputs, by: \.statement)
        for (id, text) in shared.texts {
            let x = a[id] ?? [], y = b[id] ?? []
            let first = zip(x, y).first { !Reference.same($0.0, $0.1) }
            #expect(x.count == y.count && first == nil, "seed \(seed), \(id) \(text): \(x.count) vs \(y.count); \(first.map { "\($0.0) vs \($0.1)" } ?? "")")
        }
    }

    /// ``Ring`` against an array used as a queue, across growth and wrap-around.
    @Test func plainRingMatchesArrayQueue() {
        var rng = SeededGenerator(seed: 7)
        var ring = Ring<Int64>()
        defer { ring.free() }
        var reference: [Int64] = []
        for step in 0..<5_000 {
            if Int.random(in: 0..<5, using: &rng) < 3 {
                ring.append(Int64(step))
                reference.append(Int64(step))
            } else if !reference.isEmpty {
                #expect(ring.removeFirst() == reference.removeFirst(), "step \(step)")
            }
            #expect(ring.count == reference.count)
            if !reference.isEmpty {
                let i = Int.random(in: 0..<reference.count, using: &rng)
                #expect(ring[i] == reference[i] && ring.first == reference[0], "step \(step)")
            }
        }
    }
}
