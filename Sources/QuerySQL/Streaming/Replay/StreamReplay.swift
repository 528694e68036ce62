public import QueryCore

/// Runs continuous-query statements over recorded events (what `query-replay` does), so users can
/// test persistent queries before registering them.
///
/// - Statements are separated by `;` and numbered from 1 in file order. `create schema
///   Name(field type, …)` declares a stream; a stream used by a statement but never declared
///   takes its fields from its first event in the events file (each such field accepts any type).
/// - Events are JSON objects, one per line, with `stream`, `time` (milliseconds; event time) and
///   the fields. Blank lines are skipped. An event older than the previous one is treated as
///   arriving at the previous one's time.
/// - Each trigger becomes one JSON line `{"statement": N, "time": ms, "rows": [{"column": value, …}]}`.
public struct StreamReplay {
    /// A parsed event line.
    struct EventLine {
        var line: Int
        var stream: String
        var time: Int64
        var fields: [(String, Value)]
    }

    /// Runs `statements` over `eventLines`, calling `emit` with each output line.
    ///
    /// - Parameters:
    ///   - endTime: if given (ms), time is advanced to it after the last event, so pending window
    ///     expiries, batches and output intervals fire.
    /// - Throws: ``QueryError`` naming the statement number or event line that failed.
    public static func run(
        statements script: String, eventLines: [String], endTime: Int64? = nil, emit: (String) -> Void
    ) throws(QueryError) {
        var events: [EventLine] = []
        for (offset, text) in eventLines.enumerated() {
            let trimmed = String(text.trimmingSpaces)
            if trimmed.isEmpty { continue }
            let line = offset + 1
            let parsed: JSONEventLine
            do { parsed = try JSONEventLine.parse(trimmed) } catch {
                throw QueryError(error.code, "events line \(line): \(error.message)")
            }
            guard let time = parsed.time else { throw QueryError(.invalidArgument, "events line \(line): missing 'time'") }
            let (stream, fields) = (parsed.stream, parsed.fields)
            events.append(EventLine(line: line, stream: stream, time: time, fields: fields))
        }

        let engine = StreamEngine()
        let parts = try EPLParser.splitStatements(script)
        var numbers: [StatementID: Int] = [:]
        // Declared schemas first, so inference only covers streams that are never declared.
        var declared = Set<String>()
        for (text, _) in parts {
            var parser = try EPLParser(text)
            switch try? parser.parseStatement() {
            case .createSchema(let name, _, _)?, .createWindow(let name, _, _, _, _)?: declared.insert(name.lowercased())
            case .select(let select)?: if let target = select.insertInto { declared.insert(target.lowercased()) }
            default: break
            }
        }
        var inferred = Set<String>()
        for event in events where !declared.contains(event.stream.lowercased()) && !inferred.contains(event.stream.lowercased()) {
            inferred.insert(event.stream.lowercased())
            let columns = event.fields.map { ColumnDefinition($0.0, .any) }
            do { try engine.defineStream(event.stream, schema: try Schema(columns)) } catch {
                throw QueryError(error.code, "events line \(event.line): cannot infer stream '\(event.stream)': \(error.message)")
            }
        }
        for (index, part) in parts.enumerated() {
            do {
                let id = try engine.createStatement(part.text)
                numbers[id] = index + 1
            } catch {
                var located = error
                if let l = error.location {
                    located.location = SourceLocation(line: l.line + part.line - 1, column: l.column, offset: l.offset)
                }
                located.message = "statement \(index + 1): \(error.message)"
                throw located
            }
        }
        func write(_ outputs: [StreamOutput]) {
            for output in outputs {
                guard let n = numbers[output.statement] else { continue }
                let rows = output.rows.map { row in
                    "{" + zip(output.columns, row).map { "\(JSONLine.quote($0.0)): \(JSONLine.encode($0.1))" }.joined(separator: ", ") + "}"
                }
                emit("{\"statement\": \(n), \"time\": \(output.time.milliseconds), \"rows\": [\(rows.joined(separator: ", "))]}")
            }
        }
        for event in events {
            var fields: [String: Value] = [:]
            for (k, v) in event.fields { fields[k] = v }
            do {
                write(try engine.send(event.stream, fields: fields, at: .milliseconds(event.time)))
            } catch {
                throw QueryError(error.code, "events line \(event.line): \(error.message)")
            }
        }
        if let endTime { write(engine.advance(to: .milliseconds(endTime))) }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
