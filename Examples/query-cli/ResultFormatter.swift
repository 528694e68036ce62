import Foundation
import QueryCore

/// Renders a query result as an aligned table, CSV or JSON.
enum ResultFormatter {
    enum Format: String, CaseIterable {
        case table, csv, json
    }

    static func render(_ answer: QueryAnswer, as format: Format) -> String {
        switch format {
        case .table: table(answer)
        case .csv: csv(answer.result)
        case .json: json(answer)
        }
    }

    static func text(_ value: Value) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let integer): String(integer)
        case .real(let real): Value.formatReal(real)
        case .text(let text): text
        case .boolean(let boolean): boolean ? "1" : "0"
        }
    }

    static func isNumeric(_ value: Value) -> Bool {
        switch value {
        case .integer, .real, .boolean: true
        case .null, .text: false
        }
    }

    /// Columns padded to their widest cell; numbers right-aligned; a summary line after.
    static func table(_ answer: QueryAnswer) -> String {
        let result = answer.result
        let cells = result.rows.map { $0.map(text) }
        var widths = result.columns.map(\.count)
        for row in cells {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return right ? padding + text : text + padding
        }
        var lines: [String] = []
        lines.append(result.columns.enumerated().map { pad($1, widths[$0], right: false) }.joined(separator: " | "))
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
        for (rowIndex, row) in cells.enumerated() {
            lines.append(
                row.enumerated().map { index, cell in
                    pad(cell, widths[index], right: isNumeric(result.rows[rowIndex][index]))
                }.joined(separator: " | "))
        }
        let count = result.rows.count
        var summary = "(\(count) row\(count == 1 ? "" : "s"), generation \(answer.generation.number)"
        for figures in answer.completeness.tables where figures.machinesKnown > 0 {
            summary += "; \(figures.table): \(figures.machinesContributing)/\(figures.machinesKnown) machines"
        }
        lines.append(summary + ")")
        return lines.joined(separator: "\n")
    }

    /// RFC 4180: fields with commas, quotes or line breaks are quoted.
    static func csv(_ result: QueryResult) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        var lines = [result.columns.map(field).joined(separator: ",")]
        for row in result.rows {
            lines.append(row.map { $0.isNull ? "" : field(text($0)) }.joined(separator: ","))
        }
        return lines.joined(separator: "\n")
    }

    /// One JSON object: columns, rows (as arrays of JSON values) and the generation.
    static func json(_ answer: QueryAnswer) -> String {
        func value(_ value: Value) -> Any {
            switch value {
            case .null: NSNull()
            case .integer(let integer): integer
            case .real(let real): real.isFinite ? real : Value.formatReal(real) as Any
            case .text(let text): text
            case .boolean(let boolean): boolean
            }
        }
        let object: [String: Any] = [
            "columns": answer.result.columns,
            "rows": answer.result.rows.map { $0.map(value) },
            "generation": answer.generation.number,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
