import ArgumentParser
import Foundation
import QueryCore
import QuerySQL

/// Runs persistent queries over recorded events and prints each trigger as a JSON line.
@main
struct QueryReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query-replay",
        abstract: "Run continuous-query statements over recorded events; print triggers as JSON lines.",
        discussion: """
            STATEMENTS: ';'-separated. 'create schema Name(field type, …)' declares a stream; a stream \
            never declared takes its fields from its first event.
            EVENTS: one JSON object a line with "stream", "time" (milliseconds, event time) and the fields.
            OUTPUT: {"statement": N, "time": ms, "rows": [{"column": value, …}]} per trigger.
            """)

    @Option(name: .long, help: "File with the statements.")
    var statements: String

    @Option(name: .long, help: "File with the events (JSON lines).")
    var events: String

    @Option(name: .long, help: "Advance time to this many milliseconds after the last event (fires pending expiries).")
    var endTime: Int64?

    func run() throws {
        let script: String
        let eventText: String
        do {
            script = try String(contentsOfFile: statements, encoding: .utf8)
            eventText = try String(contentsOfFile: events, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read input: \(error.localizedDescription)")
        }
        let lines = eventText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        do {
            try StreamReplay.run(statements: script, eventLines: lines, endTime: endTime) { line in
                print(line)
            }
        } catch {
            var message = "query-replay: \(error.message)"
            if let location = error.location { message += " (line \(location.line), column \(location.column))" }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
