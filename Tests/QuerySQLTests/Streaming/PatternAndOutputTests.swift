import QueryCore
import Testing
@testable import QuerySQL

@Suite struct PatternTests {
    let schemas = [
        "create schema A(id string, x int, y int)",
        "create schema B(id string, y int)",
        "create schema C(id string)",
    ]

    @Test func everyFollowedByWithinGuard() throws {
        var h = try StreamHarness(schemas)
        let id = try h.statement(
            "select a.id as aid, b.id as bid from pattern [every a=A(x > 1) -> b=B(y < a.y) where timer:within(30 sec)]")
        try h.send("A", ["id": "a1", "x": 0, "y": 5], at: 0)  // fails x > 1
        try h.send("A", ["id": "a2", "x": 2, "y": 10], at: 1)  // waits for B with y < 10 until 31
        try h.send("A", ["id": "a3", "x": 3, "y": 4], at: 2)  // waits for B with y < 4 until 32
        try h.send("B", ["id": "b1", "y": 7], at: 5)  // matches a2 only
        try h.send("B", ["id": "b2", "y": 3], at: 10)  // matches a3 (a2's wait is over)
        try h.send("A", ["id": "a4", "x": 5, "y": 100], at: 20)  // waits until 50
        try h.send("B", ["id": "b3", "y": 1], at: 60)  // too late
        #expect(h.triggers(of: id).map(\.0) == [5, 10])
        #expect(h.triggers(of: id).map(\.1) == [[["a2", "b1"]], [["a3", "b2"]]])
    }

    @Test func oneEventCanCompleteSeveralMatches() throws {
        var h = try StreamHarness(schemas)
        let id = try h.statement("select a.id as aid, b.id as bid from pattern [every a=A -> b=B]")
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 0)
        try h.send("A", ["id": "a2", "x": 0, "y": 0], at: 1)
        try h.send("B", ["id": "b1", "y": 0], at: 2)
        try h.send("B", ["id": "b2", "y": 0], at: 3)
        #expect(h.triggers(of: id).map(\.1) == [[["a1", "b1"], ["a2", "b1"]]])
    }

    @Test func andWithoutEveryMatchesOnce() throws {
        var h = try StreamHarness(schemas)
        let id = try h.statement("select a.id as aid, b.id as bid from pattern [a=A and b=B]")
        try h.send("B", ["id": "b1", "y": 0], at: 0)
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 1)
        try h.send("A", ["id": "a2", "x": 0, "y": 0], at: 2)
        try h.send("B", ["id": "b2", "y": 0], at: 3)
        #expect(h.triggers(of: id).map(\.1) == [[["a1", "b1"]]])
    }

    @Test func orAndEveryOr() throws {
        var h = try StreamHarness(schemas)
        let once = try h.statement("select a.id as aid, b.id as bid from pattern [a=A or b=B]")
        let each = try h.statement("select a.id as aid, b.id as bid from pattern [every (a=A or b=B)]")
        try h.send("B", ["id": "b1", "y": 0], at: 0)
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 1)
        #expect(h.triggers(of: once).map(\.1) == [[[.null, "b1"]]])
        #expect(h.triggers(of: each).map(\.1) == [[[.null, "b1"]], [["a1", .null]]])
    }

    @Test func notEndsTheMatchWhenItsEventArrives() throws {
        var h = try StreamHarness(schemas)
        let id = try h.statement(
            "select a.id as aid, b.id as bid from pattern [every a=A -> (b=B and not c=C)]")
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 0)
        try h.send("C", ["id": "c1"], at: 1)  // kills a1's wait
        try h.send("A", ["id": "a2", "x": 0, "y": 0], at: 2)
        try h.send("B", ["id": "b1", "y": 0], at: 3)
        #expect(h.triggers(of: id).map(\.1) == [[["a2", "b1"]]])
    }

    @Test func timerInterval() throws {
        var h = try StreamHarness(schemas)
        let id = try h.statement("select a.id as aid from pattern [every a=A -> timer:interval(10 sec)]")
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 0)
        try h.send("A", ["id": "a2", "x": 0, "y": 0], at: 3)
        h.advance(to: 20)
        #expect(h.triggers(of: id).map(\.0) == [10, 13])
        #expect(h.column("aid", of: id) == ["a1", "a2"])
    }

    @Test func everyIntervalTicks() throws {
        var h = try StreamHarness(schemas)
        h.advance(to: 0)
        let id = try h.statement("select count(*) as n from pattern [every timer:interval(5 sec)]")
        h.advance(to: 16)
        #expect(h.triggers(of: id).map(\.0) == [5, 10, 15])
        #expect(h.column("n", of: id) == [1, 2, 3])
    }

    @Test func everyWithinRestartsAfterTimeout() throws {
        var h = try StreamHarness(schemas)
        h.advance(to: 0)
        let id = try h.statement("select a.id as aid from pattern [every (a=A where timer:within(10 sec))]")
        try h.send("A", ["id": "a1", "x": 0, "y": 0], at: 25)
        #expect(h.column("aid", of: id) == ["a1"])
    }

    @Test func patternErrors() throws {
        let h = try StreamHarness(schemas)
        #expect(throws: QueryError.self) { try h.engine.createStatement("select * from pattern [every a=Nope]") }
        #expect(throws: QueryError.self) { try h.engine.createStatement("select * from pattern [a=A -> b=B(z > a.y)]") }
        #expect(throws: QueryError.self) { try h.engine.createStatement("select * from pattern [a=A where timer:at(5)]") }
    }
}

@Suite struct OutputTests {
    let schema = "create schema S(host string, v int)"

    @Test func allEveryEvents() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c from S output every 3 events")
        for i in 0..<7 { try h.send("S", ["v": 1], at: Double(i)) }
        #expect(h.triggers(of: id).map(\.0) == [2, 5])
        #expect(h.triggers(of: id).map(\.1) == [[[1], [2], [3]], [[4], [5], [6]]])
    }

    @Test func lastEverySeconds() throws {
        var h = try StreamHarness([schema])
        h.advance(to: 0)
        let id = try h.statement("select count(*) as c from S output last every 10 seconds")
        for t in [1.0, 2, 3, 12] { try h.send("S", ["v": 1], at: t) }
        h.advance(to: 25)
        #expect(h.triggers(of: id).map(\.0) == [10, 20])
        #expect(h.column("c", of: id) == [3, 4])
    }

    @Test func firstEverySeconds() throws {
        var h = try StreamHarness([schema])
        h.advance(to: 0)
        let id = try h.statement("select count(*) as c from S output first every 10 seconds")
        for t in [1.0, 2, 3, 11, 12] { try h.send("S", ["v": 1], at: t) }
        #expect(h.triggers(of: id).map(\.0) == [1, 11])
        #expect(h.column("c", of: id) == [1, 4])
    }

    @Test func snapshotEverySeconds() throws {
        var h = try StreamHarness([schema])
        h.advance(to: 0)
        let id = try h.statement(
            "select host, count(*) as c from S.win:time(60 sec) group by host output snapshot every 5 seconds")
        try h.send("S", ["host": "b", "v": 1], at: 1)
        try h.send("S", ["host": "a", "v": 1], at: 2)
        try h.send("S", ["host": "a", "v": 1], at: 3)
        h.advance(to: 10)
        #expect(h.triggers(of: id).map(\.0) == [5, 10])
        #expect(h.triggers(of: id).map(\.1) == [[["a", 2], ["b", 1]], [["a", 2], ["b", 1]]])
    }

    @Test func allEverySecondsSkipsEmptyIntervals() throws {
        var h = try StreamHarness([schema])
        h.advance(to: 0)
        let id = try h.statement("select v from S output all every 10 seconds")
        try h.send("S", ["v": 1], at: 1)
        try h.send("S", ["v": 2], at: 2)
        h.advance(to: 30)
        try h.send("S", ["v": 3], at: 31)
        h.advance(to: 40)
        #expect(h.triggers(of: id).map(\.0) == [10, 40])
        #expect(h.triggers(of: id).map(\.1) == [[[1], [2]], [[3]]])
    }

    @Test func snapshotOfNonAggregatedWindow() throws {
        var h = try StreamHarness([schema])
        h.advance(to: 0)
        let id = try h.statement("select v from S.win:length(2) output snapshot every 2 events")
        for (i, v) in [1, 2, 3, 4].enumerated() { try h.send("S", ["v": .integer(Int64(v))], at: Double(i + 1)) }
        #expect(h.triggers(of: id).map(\.1) == [[[1], [2]], [[3], [4]]])
    }
}

@Suite struct PatternResourceTests {
    /// Waits that time out are released even when the awaited stream stays silent.
    @Test func expiredWaitsDoNotAccumulate() throws {
        let engine = StreamEngine()
        try engine.createStatement("create schema A(id int)")
        try engine.createStatement("create schema B(id int)")
        let id = try engine.createStatement("select a.id as id from pattern [every a=A -> b=B(id = a.id) where timer:within(1 sec)]")
        for i in 0..<5000 {
            _ = try engine.send("A", [.integer(Int64(i))], at: .milliseconds(Int64(i) * 10))
        }
        let runtime = try #require(engine.statementRuntime(id) as? PatternStatementRuntime)
        let listening = runtime.matcher.listeners.values.reduce(0) { $0 + $1.count }
        // About 100 waits are live (1 s at one A per 10 ms); swept lists stay near that.
        #expect(listening < 1500, "\(listening) filter instances still listed")
    }
}
