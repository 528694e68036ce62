import QueryCore
import Testing
@testable import QuerySQL

@Suite struct StatementTests {
    /// The PQA paper's alert: average memory utilisation over 20 seconds above 70. The alias in
    /// WHERE names an aggregate, so the condition is evaluated as HAVING.
    @Test func paperMemoryAverageAlert() throws {
        var h = try StreamHarness(["create schema MemUtilEvent(host string, memutil double)"])
        let id = try h.statement(
            "select avg(memutil) as avgMemUtil from MemUtilEvent.win:time(20 sec) where avgMemUtil > 70")
        try h.send("MemUtilEvent", ["host": "n1", "memutil": 60], at: 0)  // avg 60
        try h.send("MemUtilEvent", ["host": "n2", "memutil": 90], at: 5)  // avg 75 -> trigger
        try h.send("MemUtilEvent", ["host": "n1", "memutil": 40], at: 10)  // avg 63.3
        h.advance(to: 21)  // 60 leaves at 20: avg 65
        try h.send("MemUtilEvent", ["host": "n3", "memutil": 100], at: 22)  // avg (90+40+100)/3 = 76.7 -> trigger
        h.advance(to: 26)  // 90 leaves at 25: avg 70, not above
        let t = h.triggers(of: id)
        #expect(t.map(\.0) == [5, 22])
        #expect(h.column("avgMemUtil", of: id) == [75.0, .real(230.0 / 3)])
    }

    /// The paper's two-stream join on the latest event of each stream.
    @Test func paperJoinOnLengthOneWindows() throws {
        var h = try StreamHarness([
            "create schema BWUtilization(host string, bwutil double)",
            "create schema MemoryUtilization(host string, memutil double)",
        ])
        let id = try h.statement(
            """
            select b.bwutil as bw, m.memutil as mem from BWUtilization.win:length(1) as b,
              MemoryUtilization.win:length(1) as m where b.bwutil > 80 and m.memutil > 70
            """)
        try h.send("BWUtilization", ["host": "a", "bwutil": 90], at: 0)  // no memory event yet
        try h.send("MemoryUtilization", ["host": "a", "memutil": 75], at: 1)  // 90 & 75 -> trigger
        try h.send("MemoryUtilization", ["host": "a", "memutil": 50], at: 2)  // 90 & 50 no
        try h.send("BWUtilization", ["host": "a", "bwutil": 85], at: 3)  // 85 & 50 no
        try h.send("MemoryUtilization", ["host": "a", "memutil": 95], at: 4)  // 85 & 95 -> trigger
        #expect(h.triggers(of: id).map(\.0) == [1, 4])
        #expect(h.triggers(of: id).map(\.1) == [[[90.0, 75.0]], [[85.0, 95.0]]])
    }

    @Test func joinOnKeyWithAggregateOverJoinedRows() throws {
        var h = try StreamHarness([
            "create schema A(k string, x int)",
            "create schema B(k string, y int)",
        ])
        let id = try h.statement(
            "select count(*) as c, sum(a.x * b.y) as s from A.win:length(2) as a, B.win:length(2) as b where a.k = b.k")
        try h.send("A", ["k": "p", "x": 1], at: 0)
        try h.send("B", ["k": "p", "y": 10], at: 1)  // (1,10): c1 s10
        try h.send("B", ["k": "q", "y": 20], at: 2)  // no joined row: no output
        try h.send("A", ["k": "q", "x": 2], at: 3)  // + (2,20): c2 s50
        try h.send("A", ["k": "p", "x": 3], at: 4)  // A drops x=1 (-10), adds (3,10): c2 s70
        #expect(h.column("c", of: id) == [1, 2, 2])
        #expect(h.column("s", of: id) == [10, 50, 70])
    }

    @Test func groupByHavingOrderBy() throws {
        var h = try StreamHarness(["create schema Cpu(host string, load int)"])
        let id = try h.statement(
            "select host, avg(load) as a from Cpu.win:length_batch(4) group by host having avg(load) >= 50 order by a desc")
        try h.send("Cpu", ["host": "a", "load": 40], at: 0)
        try h.send("Cpu", ["host": "b", "load": 90], at: 1)
        try h.send("Cpu", ["host": "c", "load": 60], at: 2)
        try h.send("Cpu", ["host": "a", "load": 70], at: 3)
        #expect(h.triggers(of: id).count == 1)
        #expect(h.triggers(of: id).first?.1 == [["b", 90.0], ["c", 60.0], ["a", 55.0]])
    }

    @Test func ungroupedPropertiesGiveOneRowPerEvent() throws {
        var h = try StreamHarness(["create schema Cpu(host string, load int)"])
        let id = try h.statement("select host, load, max(load) as peak from Cpu.win:length(2)")
        try h.send("Cpu", ["host": "a", "load": 5], at: 0)
        try h.send("Cpu", ["host": "b", "load": 3], at: 1)
        try h.send("Cpu", ["host": "c", "load": 1], at: 2)
        #expect(h.column("host", of: id) == ["a", "b", "c"])
        #expect(h.column("peak", of: id) == [5, 5, 3])
    }

    @Test func distinctAndLimit() throws {
        var h = try StreamHarness(["create schema Cpu(host string, load int)"])
        let id = try h.statement("select distinct host from Cpu.win:length_batch(4) order by host limit 2")
        for (i, host) in ["z", "x", "z", "y"].enumerated() { try h.send("Cpu", ["host": .text(host), "load": 1], at: Double(i)) }
        #expect(h.triggers(of: id).first?.1 == [["x"], ["y"]])
    }

    @Test func whereFiltersBeforeAggregationAndStreamFilterBeforeWindow() throws {
        var h = try StreamHarness(["create schema S(k string, v int)"])
        // The window holds the last two events of any kind; WHERE keeps k='a' among them.
        let post = try h.statement("select count(*) as c from S.win:length(2) where k = 'a'")
        // The stream filter admits only k='a' into the window.
        let pre = try h.statement("select count(*) as c from S(k = 'a').win:length(2)")
        try h.send("S", ["k": "a", "v": 1], at: 0)
        try h.send("S", ["k": "a", "v": 1], at: 1)
        try h.send("S", ["k": "b", "v": 1], at: 2)
        #expect(h.column("c", of: post) == [1, 2, 1])
        #expect(h.column("c", of: pre) == [1, 2])
    }

    @Test func insertIntoFeedsAnotherStatement() throws {
        var h = try StreamHarness(["create schema Cpu(host string, load int)"])
        let first = try h.statement("insert into HighLoad select host, load * 2 as doubled from Cpu(load > 50)")
        let second = try h.statement("select host, sum(doubled) as total from HighLoad.win:length(10) group by host")
        try h.send("Cpu", ["host": "a", "load": 60], at: 0)
        try h.send("Cpu", ["host": "a", "load": 10], at: 1)
        try h.send("Cpu", ["host": "a", "load": 70], at: 2)
        #expect(h.column("doubled", of: first) == [120, 140])
        #expect(h.column("total", of: second) == [120, 260])
        #expect(h.engine.stream(named: "HighLoad") != nil)
    }

    @Test func namedWindowInsertQueryAndDelete() throws {
        var h = try StreamHarness([
            "create schema Alert(host string, level int)",
            "create schema Clear(host string)",
        ])
        try h.statement("create window Open.win:keepall() as Alert")
        try h.statement("insert into Open select host, level from Alert")
        let count = try h.statement("select count(*) as n, max(level) as worst from Open")
        let deleted = try h.statement("on Clear as c delete from Open as o where o.host = c.host")
        try h.send("Alert", ["host": "a", "level": 3], at: 0)
        try h.send("Alert", ["host": "b", "level": 5], at: 1)
        try h.send("Alert", ["host": "a", "level": 4], at: 2)
        try h.send("Clear", ["host": "a"], at: 3)
        try h.send("Clear", ["host": "zz"], at: 4)  // nothing to delete
        #expect(h.column("n", of: count) == [1, 2, 3, 1])
        #expect(h.column("worst", of: count) == [3, 5, 5, 5])
        #expect(h.triggers(of: deleted).map(\.1) == [[["a", 3], ["a", 4]]])
        // A statement created later starts from the window's contents.
        let late = try h.statement("select count(*) as n from Open")
        try h.send("Alert", ["host": "c", "level": 1], at: 5)
        #expect(h.column("n", of: late) == [2])
    }

    @Test func namedWindowWithTimeWindowExpires() throws {
        var h = try StreamHarness(["create schema Alert(host string, level int)"])
        try h.statement("create window Recent.win:time(10 sec) as (host string, level int)")
        try h.statement("insert into Recent select * from Alert")
        let id = try h.statement("select count(*) as n from Recent")
        try h.send("Alert", ["host": "a", "level": 1], at: 0)
        try h.send("Alert", ["host": "b", "level": 1], at: 4)
        h.advance(to: 20)
        #expect(h.column("n", of: id) == [1, 2, 1, 0])
    }

    @Test func errorsCarryPositions() throws {
        let h = try StreamHarness(["create schema Cpu(host string, load int)"])
        func failure(_ text: String) -> QueryError? {
            do {
                try h.engine.createStatement(text)
                return nil
            } catch { return error }
        }
        let unknownColumn = failure("select lod from Cpu")
        #expect(unknownColumn?.code == .unknownColumn)
        #expect(unknownColumn?.message.contains("did you mean 'load'") == true)
        #expect(unknownColumn?.location == SourceLocation(line: 1, column: 8, offset: 7))
        let unknownStream = failure("select * from Memory.win:length(1)")
        #expect(unknownStream?.code == .unknownTable)
        #expect(unknownStream?.location?.column == 15)
        let syntax = failure("select host from Cpu.win:time(20 sec) were load > 1")
        #expect(syntax?.code == .syntaxError)
        #expect(syntax?.location?.column == 44)
        #expect(failure("select host from Cpu where sum(load) > 1 group by sum(load)")?.code == .semanticError)
        #expect(failure("select nosuch(load) from Cpu")?.code == .unknownFunction)
        #expect(failure("select * from Cpu.win:time(-1 sec)")?.code == .syntaxError)
        #expect(failure("select * from Cpu.win:time(0 sec)")?.code == .semanticError)
        #expect(failure("select * from Cpu.win:length(1) as a, Cpu.win:length(1) as a")?.code == .semanticError)
        // Nothing half-registered: the engine still has no statements besides the schema.
        #expect(h.engine.statementIDs.count == 1)
    }

    @Test func sendValidatesEvents() throws {
        let h = try StreamHarness(["create schema Cpu(host string, load int)"])
        #expect(throws: QueryError.self) { try h.engine.send("Cpu", ["a"]) }
        #expect(throws: QueryError.self) { try h.engine.send("Cpu", ["a", "high"]) }
        #expect(throws: QueryError.self) { try h.engine.send("Nope", ["a", 1]) }
        #expect(throws: QueryError.self) { try h.engine.send("Cpu", fields: ["hots": "a"]) }
    }

    @Test func filterIndexTouchesOnlyMatchingStatements() throws {
        let h = try StreamHarness(["create schema Cpu(host string, load int)"])
        var ids: [StatementID] = []
        for i in 0..<1000 {
            ids.append(try h.engine.createStatement("select host, load from Cpu where host = 'h\(i)' and load > 50"))
        }
        let handle = try #require(h.engine.stream(named: "Cpu"))
        let index = h.engine.streams[handle.index].filters
        let before = index.evaluations
        let out = try h.engine.send("Cpu", ["h7", 80])
        #expect(out.map(\.statement) == [ids[7]])
        #expect(index.evaluations - before <= 2)
        let none = try h.engine.send("Cpu", ["h8", 10])
        #expect(none.isEmpty)
        h.engine.removeStatement(ids[7])
        #expect(try h.engine.send("Cpu", ["h7", 80]).isEmpty)
    }
}
