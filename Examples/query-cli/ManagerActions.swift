import Foundation
import QueryCore
import QuerySQL
import QueryTransport

/// The `query` CLI's query-manager actions over one ``QuerySession``.
enum ManagerActions {
    /// Parses `Name(field type, …)` (types: integer, real, text, boolean and their usual aliases).
    static func metric(_ text: String) throws -> (String, Schema) {
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            throw QueryError(.invalidArgument, "a metric is written Name(field type, …), got '\(text)'")
        }
        let name = text[..<open].trimmingCharacters(in: .whitespaces)
        let body = text[text.index(after: open)..<text.index(before: text.endIndex)]
        var columns: [ColumnDefinition] = []
        for (index, field) in body.split(separator: ",").enumerated() {
            let parts = field.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else {
                throw QueryError(.invalidArgument, "field \(index + 1) of '\(name)' is not 'name type': '\(field)'")
            }
            let type: ColumnType
            switch parts[1].lowercased() {
            case "int", "integer", "long", "bigint": type = .integer
            case "real", "double", "float": type = .real
            case "text", "string", "varchar": type = .text
            case "bool", "boolean": type = .boolean
            default: throw QueryError(.invalidArgument, "field '\(parts[0])' has unknown type '\(parts[1])'")
            }
            columns.append(ColumnDefinition(String(parts[0]), type))
        }
        return (name, try Schema(columns))
    }

    /// One JSON object (a line of `--publish` input) as event fields.
    static func event(_ line: String, number: Int) throws -> [String: Value] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw QueryError(.invalidArgument, "line \(number) is not a JSON object")
        }
        var fields: [String: Value] = [:]
        for (key, raw) in object {
            switch raw {
            case is NSNull: fields[key] = .null
            case let text as String: fields[key] = .text(text)
            case let number as NSNumber:
                switch String(cString: number.objCType) {
                case "c", "B": fields[key] = .boolean(number.boolValue)
                case "d", "f": fields[key] = .real(number.doubleValue)
                default: fields[key] = .integer(number.int64Value)
                }
            default:
                throw QueryError(.invalidArgument, "line \(number): field '\(key)' is not a scalar")
            }
        }
        return fields
    }

    /// A trigger as one JSON line: topic, kind, sequence, time (ms) and rows as objects.
    static func json(_ trigger: Trigger) -> String {
        func value(_ value: Value) -> Any {
            switch value {
            case .null: NSNull()
            case .integer(let integer): integer
            case .real(let real): real.isFinite ? real : Value.formatReal(real) as Any
            case .text(let text): text
            case .boolean(let boolean): boolean
            }
        }
        let rows: [[String: Any]] = trigger.rows.map { row in
            var object: [String: Any] = [:]
            for (index, column) in trigger.columns.enumerated() where index < row.count { object[column] = value(row[index]) }
            return object
        }
        let object: [String: Any] = [
            "topic": trigger.topic, "kind": trigger.kind.rawValue, "sequence": trigger.sequence,
            "time": trigger.time.milliseconds, "rows": rows,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The listing as text: metrics with schemas, then statements with topic, kind and owners.
    static func render(_ listing: ManagerListing) -> String {
        var lines: [String] = []
        for metric in listing.metrics {
            lines.append("metric \(metric.name)(\(metric.schema.columns.map(\.description).joined(separator: ", ")))")
        }
        for statement in listing.statements {
            let owners = statement.owners.map(\.name).joined(separator: ",")
            lines.append(
                "\(statement.topic) \(statement.kind == .snapshot ? "snapshot" : "stream") owners=\(owners) "
                    + "dropped=\(statement.droppedTriggers): \(statement.text)")
        }
        return lines.isEmpty ? "(nothing registered)" : lines.joined(separator: "\n")
    }
}
