import QueryCore
import Testing
@testable import QuerySQL

@Suite struct WindowTests {
    let schema = "create schema S(host string, v int, w double)"

    @Test func lengthWindowSum() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select sum(v) as s, count(*) as c from S.win:length(3)")
        for (i, v) in [1, 2, 3, 4, 10].enumerated() { try h.send("S", ["v": .integer(Int64(v))], at: Double(i)) }
        #expect(h.column("s", of: id) == [1, 3, 6, 9, 17])
        #expect(h.column("c", of: id) == [1, 2, 3, 3, 3])
    }

    @Test func timeWindowExpiresAtEventTimePlusDuration() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c, avg(v) as a from S.win:time(10 sec)")
        try h.send("S", ["v": 10], at: 0)
        try h.send("S", ["v": 20], at: 5)
        try h.send("S", ["v": 30], at: 12)  // first leaves at 10, before this event
        h.advance(to: 30)  // second leaves at 15, third at 22
        let t = h.triggers(of: id)
        #expect(t.map(\.0) == [0, 5, 10, 12, 15, 22])
        #expect(h.column("c", of: id) == [1, 2, 1, 2, 1, 0])
        #expect(h.column("a", of: id) == [10.0, 15.0, 20.0, 25.0, 30.0, .null])
    }

    @Test func hashTimeSpellingAndMinutes() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c from S#time(1 min)")
        try h.send("S", ["v": 1], at: 0)
        try h.send("S", ["v": 1], at: 59)
        try h.send("S", ["v": 1], at: 60)
        #expect(h.column("c", of: id) == [1, 2, 1, 2])
    }

    @Test func timeBatch() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select sum(v) as s from S.win:time_batch(10 sec)")
        try h.send("S", ["v": 1], at: 1)
        try h.send("S", ["v": 2], at: 3)
        try h.send("S", ["v": 5], at: 12)
        h.advance(to: 100)
        // Batches end at 11, 21, 31; at 41 both batches are empty and the window sleeps.
        #expect(h.triggers(of: id).map(\.0) == [11, 21, 31])
        #expect(h.column("s", of: id) == [3, 5, .null])
    }

    @Test func timeBatchWithoutAggregatesReleasesTheBatch() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select v from S.win:time_batch(10 sec)")
        try h.send("S", ["v": 1], at: 0)
        try h.send("S", ["v": 2], at: 4)
        h.advance(to: 10)
        #expect(h.triggers(of: id).count == 1)
        #expect(h.triggers(of: id).first?.1 == [[1], [2]])
    }

    @Test func lengthBatch() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select sum(v) as s from S.win:length_batch(2)")
        for (i, v) in [1, 2, 3, 4, 5].enumerated() { try h.send("S", ["v": .integer(Int64(v))], at: Double(i)) }
        #expect(h.column("s", of: id) == [3, 7])
    }

    @Test func uniqueKeepsNewestPerKey() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c, sum(v) as s from S.std:unique(host)")
        try h.send("S", ["host": "a", "v": 1], at: 0)
        try h.send("S", ["host": "b", "v": 2], at: 1)
        try h.send("S", ["host": "a", "v": 5], at: 2)
        #expect(h.column("c", of: id) == [1, 2, 2])
        #expect(h.column("s", of: id) == [1, 3, 7])
    }

    @Test func lastEvent() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select max(v) as m from S.std:lastevent()")
        for (i, v) in [5, 1, 3].enumerated() { try h.send("S", ["v": .integer(Int64(v))], at: Double(i)) }
        #expect(h.column("m", of: id) == [5, 1, 3])
    }

    @Test func groupedWindow() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select host, sum(v) as s from S.std:groupwin(host).win:length(2) group by host")
        try h.send("S", ["host": "a", "v": 1], at: 0)
        try h.send("S", ["host": "b", "v": 10], at: 1)
        try h.send("S", ["host": "a", "v": 2], at: 2)
        try h.send("S", ["host": "a", "v": 3], at: 3)  // a's window drops 1
        try h.send("S", ["host": "b", "v": 20], at: 4)
        #expect(h.column("host", of: id) == ["a", "b", "a", "a", "b"])
        #expect(h.column("s", of: id) == [1, 10, 3, 5, 30])
    }

    @Test func groupedTimeWindowsExpireIndependently() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select host, count(*) as c from S#groupwin(host)#time(5 sec) group by host")
        try h.send("S", ["host": "a", "v": 1], at: 0)
        try h.send("S", ["host": "b", "v": 1], at: 3)
        h.advance(to: 10)
        #expect(h.triggers(of: id).map(\.0) == [0, 3, 5, 8])
        #expect(h.column("c", of: id) == [1, 1, 0, 0])
    }

    @Test func minMaxOverSlidingWindow() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select min(v) as lo, max(v) as hi from S.win:length(3)")
        for (i, v) in [5, 1, 4, 2, 3, 0].enumerated() { try h.send("S", ["v": .integer(Int64(v))], at: Double(i)) }
        #expect(h.column("lo", of: id) == [5, 1, 1, 1, 2, 0])
        #expect(h.column("hi", of: id) == [5, 5, 5, 4, 4, 3])
    }

    @Test func minMaxOverUniqueWindowUsesOutOfOrderRemoval() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select min(v) as lo, max(v) as hi from S.std:unique(host)")
        try h.send("S", ["host": "a", "v": 9], at: 0)
        try h.send("S", ["host": "b", "v": 1], at: 1)
        try h.send("S", ["host": "a", "v": 5], at: 2)  // the 9 leaves although it entered first
        try h.send("S", ["host": "b", "v": 7], at: 3)
        #expect(h.column("lo", of: id) == [9, 1, 1, 5])
        #expect(h.column("hi", of: id) == [9, 9, 5, 7])
    }

    @Test func noWindowAccumulatesForever() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c, total(w) as t from S")
        try h.send("S", ["w": 1.5], at: 0)
        try h.send("S", ["w": 2.0], at: 1000)
        #expect(h.column("c", of: id) == [1, 2])
        #expect(h.column("t", of: id) == [1.5, 3.5])
    }

    @Test func keepAll() throws {
        var h = try StreamHarness([schema])
        let id = try h.statement("select count(*) as c from S.win:keepall()")
        try h.send("S", ["v": 1], at: 0)
        try h.send("S", ["v": 1], at: 1e6)
        #expect(h.column("c", of: id) == [1, 2])
    }

    @Test func badViewsAreRejectedWithPositions() throws {
        let h = try StreamHarness([schema])
        #expect(throws: QueryError.self) { try h.engine.createStatement("select * from S.win:length(0)") }
        do {
            try h.engine.createStatement("select * from S.win:bogus(3)")
            Issue.record("accepted an unknown view")
        } catch {
            #expect(error.code == .unsupported)
            #expect(error.location?.column == 17)
        }
        do {
            try h.engine.createStatement("select * from S.std:unique(hots)")
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.code == .unknownColumn)
        }
    }
}
