import QueryCore
import Testing
@testable import QuerySQL

@Suite struct StreamReplayTests {
    @Test func replayPrintsTriggersAsJSONLines() throws {
        let statements = """
            create schema MemUtilEvent(host string, memutil double);
            select avg(memutil) as avgMemUtil from MemUtilEvent.win:time(20 sec) where avgMemUtil > 70;
            -- an undeclared stream takes its schema from its first event
            select host, load from Cpu where load > 90
            """
        let events = [
            #"{"stream": "MemUtilEvent", "time": 0, "host": "n1", "memutil": 60}"#,
            #"{"stream": "Cpu", "time": 1000, "host": "c\"1", "load": 95}"#,
            "",
            #"{"stream": "MemUtilEvent", "time": 5000, "host": "n2", "memutil": 90.5}"#,
            #"{"stream": "Cpu", "time": 6000, "host": "c2", "load": 10}"#,
        ]
        var lines: [String] = []
        try StreamReplay.run(statements: statements, eventLines: events) { lines.append($0) }
        #expect(lines == [
            #"{"statement": 3, "time": 1000, "rows": [{"host": "c\"1", "load": 95}]}"#,
            #"{"statement": 2, "time": 5000, "rows": [{"avgMemUtil": 75.25}]}"#,
        ])
    }

    @Test func replayErrorsNameTheLine() throws {
        #expect(throws: QueryError.self) {
            try StreamReplay.run(statements: "select * from S", eventLines: [#"{"stream": "S", "time": "x"}"#]) { _ in }
        }
        do {
            try StreamReplay.run(statements: "create schema S(a int);\n\nselect b from S", eventLines: []) { _ in }
            Issue.record("accepted an unknown field")
        } catch {
            #expect(error.message.hasPrefix("statement 2"))
            #expect(error.location?.line == 3)
        }
        do {
            try StreamReplay.run(statements: "", eventLines: ["{\"stream\": \"S\", \"time\": 1, \"a\": [1]}"]) { _ in }
            Issue.record("accepted an array")
        } catch {
            #expect(error.message.contains("events line 1"))
        }
    }
}
