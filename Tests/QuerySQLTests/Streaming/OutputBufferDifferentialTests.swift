import QueryCore
import Testing
@testable import QuerySQL

/// ``StreamEngine/send(_:_:at:into:)`` and ``StreamEngine/advance(to:into:)`` (triggers written
/// into a reused ``StreamOutputBuffer``) against the array-returning `send` and `advance`, on
/// seeded random events over filters, compiled pass-through statements, windows, aggregates,
/// `insert into`, output rate limiting and a pattern.
@Suite struct OutputBufferDifferentialTests {
    static let statements = [
        "create schema S(host string, k int, v int, w double)",
        "create schema A(id int)",
        "select host, v from S(k = 1, v > 2)",
        "select host, v + k as s, 'x' as c from S(host in ('h1', 'h2', 'h3')) where w is not null",
        "select * from S(k = 2)",
        "select host, count(*) as n, avg(v) as a from S.win:time(2 sec) group by host having count(*) > 1",
        "select count(*) as n, sum(v) as t from S.win:length(3)",
        "insert into D select host, v from S(v > 3)",
        "select host, v from D(host = 'h1')",
        "select count(*) as c from S output every 3 events",
        "select v from S.win:length(2) output snapshot every 2 events",
        "select a.id as aid, b.id as bid from pattern [every a=A -> b=A(id = a.id) where timer:within(1 sec)]",
    ]

    static func randomEvent(_ rng: inout SeededGenerator) -> [Value] {
        [
            Int.random(in: 0..<10, using: &rng) == 0 ? .null : .text("h\(Int.random(in: 0..<5, using: &rng))"),
            .integer(Int64.random(in: 0...3, using: &rng)),
            Int.random(in: 0..<8, using: &rng) == 0 ? .null : .integer(Int64.random(in: 0...6, using: &rng)),
            Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: 0...8, using: &rng)) / 2),
        ]
    }

    /// The buffer's per-trigger accessors agree with its materialised triggers.
    static func checkAccessors(_ buffer: StreamOutputBuffer) {
        var rows = 0
        for (i, output) in buffer.enumerated() {
            #expect(buffer.statement(at: i) == output.statement)
            #expect(buffer.time(at: i) == output.time)
            #expect(buffer.columns(at: i) == output.columns)
            #expect(buffer.rowCount(at: i) == output.rows.count)
            for r in output.rows.indices { #expect(Array(buffer.row(r, of: i)) == output.rows[r]) }
            rows += output.rows.count
        }
        #expect(buffer.totalRowCount == rows)
    }

    @Test(arguments: 1...4 as ClosedRange<UInt64>)
    func bufferedDeliveryMatchesReturnedTriggers(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let returning = StreamEngine(), buffered = StreamEngine()
        for text in Self.statements {
            try returning.createStatement(text)
            try buffered.createStatement(text)
        }
        let s = returning.stream(named: "S")!, a = returning.stream(named: "A")!
        var expected: [StreamOutput] = [], got: [StreamOutput] = []
        var buffer = StreamOutputBuffer()
        var time: Int64 = 0
        for _ in 0..<600 {
            time += Int64.random(in: 0...300, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                // Time moves on without an event.
                expected += returning.advance(to: .milliseconds(time))
                buffered.advance(to: .milliseconds(time), into: &buffer)
            case 1:
                let id = Value.integer(Int64.random(in: 0...3, using: &rng))
                expected += try returning.send(a, [id], at: .milliseconds(time))
                try buffered.send(a, [id], at: .milliseconds(time), into: &buffer)
            case 2:
                // Values that need coercion (real to integer, integer to real), then one that
                // cannot be coerced.
                let values: [Value] = [.text("h1"), .real(1), .integer(5), .integer(2)]
                expected += try returning.send(s, values, at: .milliseconds(time))
                try buffered.send(s, values, at: .milliseconds(time), into: &buffer)
                let before = buffer.count
                #expect(throws: QueryError.self) {
                    try buffered.send(s, [.text("h1"), .text("x"), .null, .null], at: .milliseconds(time), into: &buffer)
                }
                #expect(buffer.count == before)
            default:
                let values = Self.randomEvent(&rng)
                expected += try returning.send(s, values, at: .milliseconds(time))
                try buffered.send(s, values, at: .milliseconds(time), into: &buffer)
            }
            // The buffer appends: empty it only now and then.
            if Int.random(in: 0..<4, using: &rng) == 0 {
                Self.checkAccessors(buffer)
                got += buffer.outputs
                buffer.removeAll()
            }
        }
        got += buffer.outputs
        #expect(expected.count > 300, "seed \(seed): too few triggers to compare")
        #expect(Set(expected.map(\.statement)).count >= 8, "seed \(seed): too few statements triggered")
        #expect(
            got == expected,
            "seed \(seed): first difference \(Array(zip(got, expected)).first { $0.0 != $0.1 }.map { "\($0.0) vs \($0.1)" } ?? "in length \(got.count) vs \(expected.count)")"
        )
    }

    /// Triggers produced and not yet handed out (here by `sendUnchecked`, which leaves them
    /// pending) come first in the buffer, as the array-returning `send` returns them.
    @Test func pendingTriggersComeFirst() throws {
        let returning = StreamEngine(), buffered = StreamEngine()
        for engine in [returning, buffered] {
            try engine.createStatement("create schema S(v int)")
            try engine.createStatement("select v from S")
            try engine.createStatement("select count(*) as n from S.win:length(2)")
            engine.sendUnchecked(0, [.integer(1)], at: .seconds(1))
        }
        let expected = try returning.send("S", [.integer(2)], at: .seconds(2))
        var buffer = StreamOutputBuffer()
        try buffered.send(buffered.stream(named: "S")!, [.integer(2)], at: .seconds(2), into: &buffer)
        #expect(expected.count == 4)
        #expect(buffer.outputs == expected)
    }
}
