import QueryCore
import Testing
@testable import QuerySQL

/// The engine's per-event path against the general one, on seeded random filters, statements and
/// events: the filter index's hash table and buckets against trying every filter, and compiled
/// single-stream statements (``EventFilter``) against the row pipeline.
@Suite struct EventPathDifferentialTests {
    static let schema = try! Schema([
        ColumnDefinition("host", .text), ColumnDefinition("k", .integer), ColumnDefinition("v", .integer),
        ColumnDefinition("w", .real),
    ])

    /// A consumer that only has an identity.
    final class Probe: EventConsumer {
        func consume(_ event: Event, engine: StreamEngine) {}
    }

    /// A random stream filter: mostly equality or `IN` on a field (indexed), plus other conjuncts.
    static func randomFilter(_ rng: inout SeededGenerator) -> String {
        let hosts = (0..<40).map { "'h\($0)'" }
        let numbers = ["0", "1", "2", "3", "1.0", "2.5", "-1", "true"]
        var parts: [String] = []
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: parts.append("host = \(hosts.randomElement(using: &rng)!)")
        case 1: parts.append("\(hosts.randomElement(using: &rng)!) = host")
        case 2:
            let list = (0..<Int.random(in: 1...4, using: &rng)).map { _ in hosts.randomElement(using: &rng)! }
            parts.append("host in (\(list.joined(separator: ", ")))")
        case 3: parts.append("k = \(numbers.randomElement(using: &rng)!)")
        case 4:
            let list = (0..<Int.random(in: 1...3, using: &rng)).map { _ in numbers.randomElement(using: &rng)! }
            parts.append("k in (\(list.joined(separator: ", ")))")
        default: break
        }
        let others = ["v > 2", "v <= 0", "w >= 1.5", "k != 2", "host != 'h3'", "v + k > 3", "w is null", "k = v"]
        for _ in 0..<Int.random(in: 0...2, using: &rng) { parts.append(others.randomElement(using: &rng)!) }
        parts.shuffle(using: &rng)
        return parts.joined(separator: " and ")
    }

    static func randomEvent(_ rng: inout SeededGenerator) -> [Value] {
        [
            Int.random(in: 0..<10, using: &rng) == 0 ? .null : .text("h\(Int.random(in: 0..<45, using: &rng))"),
            Int.random(in: 0..<8, using: &rng) == 0 ? .null : .integer(Int64.random(in: -1...4, using: &rng)),
            Int.random(in: 0..<8, using: &rng) == 0 ? .null : .integer(Int64.random(in: -3...6, using: &rng)),
            Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -4...8, using: &rng)) / 2),
        ]
    }

    static func compileFilter(_ text: String) throws -> CompiledExpression? {
        if text.isEmpty { return nil }
        var parser = try EPLParser("select * from S(\(text))")
        guard case .select(let select) = try parser.parseStatement(), case .streams(let specs) = select.from,
            let filter = specs[0].filter
        else { return nil }
        var compiler = ExpressionCompiler(positions: [ScopePosition(alias: nil, streamName: "S", schema: schema)], source: "")
        return try compiler.compile(filter)
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func filterIndexMatchesTryingEveryFilter(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let index = FilterIndex()
        var registered: [(probe: Probe, filter: CompiledExpression?)] = []
        // Enough keys that the hash tables grow several times and probe past collisions.
        for _ in 0..<300 {
            let filter = try Self.compileFilter(Self.randomFilter(&rng))
            let probe = Probe()
            index.add(consumer: probe, filter: filter)
            registered.append((probe, filter))
        }
        func check(_ round: Int) {
            var result: [Int32] = []
            for _ in 0..<300 {
                let values = Self.randomEvent(&rng)
                let event = Event(stream: 0, time: .zero, sequence: 1, values: values)
                index.matches(event, into: &result)
                let got = result.map { ObjectIdentifier(index.consumer($0)) }
                let expected = registered.filter { $0.filter?.isTrue(.one(event)) ?? true }.map { ObjectIdentifier($0.probe) }
                #expect(got == expected, "seed \(seed), round \(round), event \(values)")
            }
        }
        check(0)
        // Removal rebuilds the index; the rest keep their order.
        let removed = Set(registered.indices.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }.map { ObjectIdentifier(registered[$0].probe) })
        index.remove { removed.contains(ObjectIdentifier($0)) }
        registered.removeAll { removed.contains(ObjectIdentifier($0.probe)) }
        #expect(index.count == registered.count)
        check(1)
    }

    /// A random single-stream statement without aggregates.
    static func randomStatement(_ rng: inout SeededGenerator) -> String {
        let items = ["host", "k", "v", "w", "v + k as s", "'x' as c", "k * 2 as d", "host || '!' as e", "w is null as n"]
        let chosen = (0..<Int.random(in: 1...4, using: &rng)).map { _ in items.randomElement(using: &rng)! }
        let wheres = ["", " where v > 0", " where host != 'h1' and k < 3", " where w is not null or v = 2", " where v + k > 2"]
        let havings = ["", "", " having k > 1", " having v is not null"]
        let filter = randomFilter(&rng)
        return "select \(Array(Set(chosen)).sorted().joined(separator: ", ")) from S\(filter.isEmpty ? "" : "(\(filter))")"
            + wheres.randomElement(using: &rng)! + havings.randomElement(using: &rng)!
    }

    @Test(arguments: 1...6 as ClosedRange<UInt64>)
    func compiledStatementsMatchRowPipeline(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let compiled = StreamEngine(), general = StreamEngine()
        general.usesEventFilters = false
        let schema = "create schema S(host string, k int, v int, w double)"
        try compiled.createStatement(schema)
        try general.createStatement(schema)
        for _ in 0..<40 {
            let text = Self.randomStatement(&rng)
            try compiled.createStatement(text)
            try general.createStatement(text)
        }
        var a: [StreamOutput] = [], b: [StreamOutput] = []
        for i in 0..<400 {
            let values = Self.randomEvent(&rng)
            a += try compiled.send("S", values, at: .milliseconds(Int64(i)))
            b += try general.send("S", values, at: .milliseconds(Int64(i)))
        }
        #expect(a.count > 200, "seed \(seed): too few triggers to compare")
        #expect(a == b, "seed \(seed): first difference \(Array(zip(a, b)).first { $0.0 != $0.1 }.map { "\($0.0) vs \($0.1)" } ?? "in length \(a.count) vs \(b.count)")")
    }
}
