import QueryCore
import Testing
@testable import QuerySQL

/// ``AggregatingInput`` (flat groups in a ``GroupTable``, ``RunningSum``s, in-place `HAVING`,
/// the shared ``ExpiryQueue``) against the general row pipeline on seeded random statements and
/// events: text, integer, real and composite keys with `NULL`s, many groups that come and go,
/// expiries at exact boundaries, every aggregate and `HAVING` form. Results are compared value
/// for value including the storage class (`1` is not `1.0` here) and the bits of reals.
@Suite struct AggregatingInputDifferentialTests {
    static let schema = "create schema T(host string, k int, r double, v int, w double)"

    /// A random statement the flat path accepts.
    static func randomStatement(_ rng: inout SeededGenerator) -> String {
        let windows = [
            "", ".win:length(1)", ".win:length(2)", ".win:length(5)", ".win:length(40)", ".win:time(1 sec)",
            ".win:time(1500 msec)", ".win:time(3 sec)",
        ]
        let groupings: [(select: String, groupBy: String)] = [
            ("", ""), ("host, ", " group by host"), ("k, ", " group by k"), ("r, ", " group by r"),
            ("host, k, ", " group by host, k"), ("r, host, ", " group by r, host"), ("", " group by k % 3"),
            ("upper(host) as u, ", " group by upper(host)"),
        ]
        let aggregates = [
            "count(*) as n", "count(v) as nv", "count(w) as nw", "sum(v) as s", "sum(w) as sw", "avg(v) as a",
            "avg(w) as aw", "total(v) as tv", "total(w) as tw", "min(v) as lo", "max(v) as hi", "min(w) as lw",
            "max(w) as hw", "min(host) as lh", "count(distinct v) as dv", "sum(distinct k) as sk",
            "avg(distinct v) as av", "max(distinct w) as mw", "sum(v * 2 + k) as e", "avg(w + k) as ew",
        ]
        let wheres = [
            "", " where v > -5", " where host is not null", " where w is null", " where v + k > 2",
            " where host in ('h1', 'h2', 'h7')",
        ]
        let havings = [
            "", " having count(*) > 1", " having avg(v) > 2", " having avg(v) >= 2.5", " having 3 < max(v)",
            " having sum(w) <= 10.5", " having sum(v) != 0", " having avg(w) = 0.5", " having count(v) = 2",
            " having min(w) is null or avg(v) > 0", " having count(*) > 1 and sum(v) < 30",
            " having avg(v) * 2 > 5", " having total(w) < 0.0",
        ]
        let filters = ["", "(k != 3)", "(host in ('h1', 'h2', 'h3', 'h4'))", "(v >= 0)"]
        let chosen = (0..<Int.random(in: 1...4, using: &rng)).map { _ in aggregates.randomElement(using: &rng)! }
        let grouping = groupings.randomElement(using: &rng)!
        let items = grouping.select + Array(Set(chosen)).sorted().joined(separator: ", ")
        return "select \(items) from T\(filters.randomElement(using: &rng)!)\(windows.randomElement(using: &rng)!)"
            + wheres.randomElement(using: &rng)! + grouping.groupBy + havings.randomElement(using: &rng)!
    }

    /// Value equality that also tells `1` from `1.0` and compares reals bit for bit (both paths
    /// add the same numbers in the same order, so they must agree exactly).
    static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.integer(let x), .integer(let y)): return x == y
        case (.real(let x), .real(let y)): return x.bitPattern == y.bitPattern || (x.isNaN && y.isNaN)
        case (.text(let x), .text(let y)): return Array(x.utf8) == Array(y.utf8)
        case (.boolean(let x), .boolean(let y)): return x == y
        default: return false
        }
    }

    static func same(_ a: StreamOutput, _ b: StreamOutput) -> Bool {
        a.statement == b.statement && a.time == b.time && a.columns == b.columns && a.rows.count == b.rows.count
            && zip(a.rows, b.rows).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { same($0, $1) } }
    }

    /// Runs the same statements and events through a flat and a general engine; returns both
    /// outputs after checking the flat engine really used the flat path.
    static func run(
        statements: [String], seed: UInt64, events: Int, hosts: Int, keys: Int,
        makeEvent: ((inout SeededGenerator) -> [Value])? = nil
    ) throws -> (flat: [StreamOutput], general: [StreamOutput]) {
        var rng = SeededGenerator(seed: seed)
        let flat = StreamEngine(), general = StreamEngine()
        general.usesFlatAggregation = false
        try flat.createStatement(schema)
        try general.createStatement(schema)
        for text in statements {
            try flat.createStatement(text)
            try general.createStatement(text)
        }
        #expect(flat.statementIDs.contains { (flat.statementRuntime($0) as? SelectStatementRuntime)?.aggregating != nil })
        #expect(!general.statementIDs.contains { (general.statementRuntime($0) as? SelectStatementRuntime)?.aggregating != nil })
        var flatOut: [StreamOutput] = [], generalOut: [StreamOutput] = []
        var ms: Int64 = 0
        let reals: [Value] = [.real(0.5), .real(1), .real(-0.0), .real(0), .real(2.25), .real(.nan), .null, .real(1e300)]
        for _ in 0..<events {
            // Steps of 0, 250 or 500 ms put many events on the exact instant another expires.
            ms += Int64(Int.random(in: 0...2, using: &rng)) * 250
            if Int.random(in: 0..<12, using: &rng) == 0 {
                ms += Int64(Int.random(in: 1...6, using: &rng)) * 500
                flatOut += flat.advance(to: .milliseconds(ms))
                generalOut += general.advance(to: .milliseconds(ms))
            }
            let values: [Value]
            if let makeEvent {
                values = makeEvent(&rng)
            } else {
                let host: Value = Int.random(in: 0..<15, using: &rng) == 0 ? .null : .text("h\(Int.random(in: 0..<hosts, using: &rng))")
                let k: Value = Int.random(in: 0..<15, using: &rng) == 0 ? .null : .integer(Int64.random(in: 0..<Int64(keys), using: &rng))
                let v: Value = Int.random(in: 0..<6, using: &rng) == 0 ? .null : .integer(Int64.random(in: -8...12, using: &rng))
                let w: Value = Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -40...40, using: &rng)) / 8)
                values = [host, k, reals.randomElement(using: &rng)!, v, w]
            }
            flatOut += try flat.send("T", values, at: .milliseconds(ms))
            generalOut += try general.send("T", values, at: .milliseconds(ms))
        }
        flatOut += flat.advance(to: .milliseconds(ms + 10_000))
        generalOut += general.advance(to: .milliseconds(ms + 10_000))
        return (flatOut, generalOut)
    }

    /// Per statement (the order among statements expiring at one instant is not part of the
    /// contract), the two output sequences must be identical.
    static func compare(_ flat: [StreamOutput], _ general: [StreamOutput], _ statements: [String], _ context: String) {
        #expect(flat.count == general.count, "\(context): \(flat.count) vs \(general.count) triggers")
        let a = Dictionary(grouping: flat, by: \.statement), b = Dictionary(grouping: general, by: \.statement)
        for (i, text) in statements.enumerated() {
            let id = StatementID(i + 2)
            let x = a[id] ?? [], y = b[id] ?? []
            let difference = zip(x, y).first { !same($0.0, $0.1) }
            #expect(
                x.count == y.count && difference == nil,
                "\(context), statement \(text): \(x.count) vs \(y.count) triggers; first difference \(difference.map { "\($0.0) vs \($0.1)" } ?? "in length")")
        }
    }

    @Test(arguments: 1...16 as ClosedRange<UInt64>)
    func randomStatementsMatchRowPipeline(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed &* 7919)
        let statements = (0..<8).map { _ in Self.randomStatement(&rng) }
        let (flat, general) = try Self.run(statements: statements, seed: seed, events: 400, hosts: 8, keys: 6)
        #expect(flat.count > 100, "seed \(seed): too few triggers to compare")
        Self.compare(flat, general, statements, "seed \(seed)")
    }

    /// Hundreds of keys that come and go: the group table grows, releases groups (backward-shift
    /// deletion) and reuses their numbers.
    @Test(arguments: 1...3 as ClosedRange<UInt64>)
    func manyGroupsComingAndGoing(seed: UInt64) throws {
        let statements = [
            "select host, avg(v) as a, count(*) as n from T.win:time(1 sec) group by host having avg(v) > 6",
            "select k, sum(v) as s, max(w) as hw from T.win:time(1500 msec) group by k",
            "select host, k, count(*) as n, min(v) as lo from T.win:length(50) group by host, k having count(*) >= 1",
            "select r, count(w) as n, total(w) as t from T.win:time(3 sec) group by r",
        ]
        let (flat, general) = try Self.run(statements: statements, seed: seed, events: 1_500, hosts: 400, keys: 300)
        #expect(flat.count > 1_000)
        Self.compare(flat, general, statements, "seed \(seed)")
    }

    /// An aggregating statement that inserts into another stream: expiries at one instant are
    /// then not batched, and the derived events reach the next statement in the same order.
    @Test func insertIntoKeepsDerivedEventOrder() throws {
        let statements = [
            "insert into D select host, avg(v) as a from T.win:time(1 sec) group by host",
            "select host, count(*) as n from T.win:time(1 sec) group by host having count(*) > 1",
            "select count(*) as n, sum(a) as s from D.win:length(4)",
        ]
        let (flat, general) = try Self.run(statements: statements, seed: 99, events: 500, hosts: 5, keys: 3)
        #expect(flat.count > 300)
        Self.compare(flat, general, statements, "insert into")
    }

    /// A key field whose equal values differ in representation (`0.0` and `-0.0` in a real field,
    /// equal text in distinct storage; `1`, `1.0` and `true` sent to an integer field are coerced
    /// alike): the rows show the latest event's representation,
    /// also when the select list or `HAVING` reads the key (the flat path keeps a representative
    /// only while the key stays identical), and `HAVING` reading another field keeps every event.
    @Test(arguments: 1...3 as ClosedRange<UInt64>)
    func keyRepresentationFollowsLatestEvent(seed: UInt64) throws {
        let statements = [
            "select k, count(*) as n from T.win:length(30) group by k",
            "select r, avg(v) as a from T.win:time(1 sec) group by r having r >= 0 or count(*) > 0",
            "select k * 2 as d, sum(v) as s from T.win:time(1500 msec) group by k having cast(k as text) != 'x'",
            "select host, count(*) as n from T.win:length(20) group by host having max(v) > 0 and w is not null",
            "select k, count(*) as n from T.win:time(1 sec) group by k having count(*) > 0 and w is not null",
            "select host, count(*) as n from T.win:time(1 sec) group by host",
            "select r * 1 as x, count(*) as n from T.win:length(25) group by r",
        ]
        let long = String(repeating: "y", count: 30)
        let ks: [Value] = [.integer(1), .real(1), .boolean(true), .integer(2), .real(2), .null]
        let rs: [Value] = [.real(0), .real(-0.0), .integer(0), .real(3), .integer(3)]
        let (flat, general) = try Self.run(statements: statements, seed: seed, events: 600, hosts: 1, keys: 1) { rng in
            // Text equal to another event's but in its own storage.
            let host: Value = .text(long + String(Int.random(in: 0..<3, using: &rng)))
            let w: Value = Bool.random(using: &rng) ? .null : .real(0.5)
            return [
                host, ks.randomElement(using: &rng)!, rs.randomElement(using: &rng)!,
                .integer(Int64.random(in: -3...5, using: &rng)), w,
            ]
        }
        #expect(flat.count > 1_000)
        Self.compare(flat, general, statements, "seed \(seed)")
    }

    /// ``Ring`` against an array used as a queue, across growth and wrap-around.
    @Test func valueRingMatchesArrayQueue() {
        var rng = SeededGenerator(seed: 5)
        var ring = Ring<Value>()
        defer { ring.free() }
        var reference: [Value] = []
        for step in 0..<5_000 {
            if Int.random(in: 0..<5, using: &rng) < 3 {
                let v: Value = .text("t\(step)")
                ring.append(v)
                reference.append(v)
            } else if !reference.isEmpty {
                #expect(ring.removeFirst() == reference.removeFirst(), "step \(step)")
            }
            #expect(ring.count == reference.count && ring.isEmpty == reference.isEmpty)
        }
    }

    /// The group table alone against a dictionary: random keys of every storage class (including
    /// `1` and `1.0`, `0.0` and `-0.0`, NaN, equal text in distinct storage) found, created and
    /// released in random order.
    @Test(arguments: 1...4 as ClosedRange<UInt64>)
    func groupTableMatchesDictionary(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        var table = GroupTable(width: 1)
        var reference: [Value: Int32] = [:]
        let long = String(repeating: "x", count: 40)
        func randomKey() -> Value {
            let i = Int.random(in: 0..<300, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return .integer(Int64(i))
            case 1: return .real(Double(i))
            case 2: return .real(Double(i) + 0.5)
            case 3: return .text("k\(i)")
            case 4: return .text(long + "\(i)")
            default: return [.null, .real(.nan), .real(-0.0), .boolean(true), .text("")].randomElement(using: &rng)!
            }
        }
        for step in 0..<20_000 {
            let key = randomKey()
            if Bool.random(using: &rng), let g = reference[key] {
                table.release(g)
                reference.removeValue(forKey: key)
            } else {
                let (g, isNew) = table.group(for: key)
                if let known = reference[key] {
                    #expect(!isNew && g == known, "step \(step): \(key) found as \(g), expected \(known)")
                } else {
                    #expect(isNew, "step \(step): \(key) should be new")
                    #expect(!reference.values.contains(g), "step \(step): group \(g) handed out twice")
                    reference[key] = g
                }
            }
            #expect(table.count == reference.count)
        }
    }
}
