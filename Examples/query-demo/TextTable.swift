import QueryCore

/// Formats query results as aligned text tables (numbers right-aligned, text left-aligned).
enum TextTable {
    static func render(_ result: QueryResult) -> String {
        let header = result.columns
        let cells = result.rows.map { $0.map(format) }
        let numeric = header.indices.map { c in
            result.rows.allSatisfy { row in
                switch row[c] {
                case .integer, .real, .null: true
                default: false
                }
            } && !result.rows.isEmpty
        }
        var widths = header.map(\.count)
        for row in cells {
            for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) }
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { c, value in
                let pad = String(repeating: " ", count: widths[c] - value.count)
                return numeric[c] ? pad + value : value + pad
            }.joined(separator: " │ ")
        }
        var out = [line(header), widths.map { String(repeating: "─", count: $0) }.joined(separator: "─┼─")]
        out += cells.map(line)
        if cells.isEmpty { out.append("(no rows)") }
        return out.map { "  " + $0 }.joined(separator: "\n")
    }

    static func format(_ value: Value) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let i): return grouped(String(i))
        case .boolean(let b): return b ? "true" : "false"
        case .text(let s): return s
        case .real(let d):
            guard d.isFinite else { return "\(d)" }
            let rounded = (d * 10).rounded() / 10
            if abs(rounded) >= 1e15 { return "\(d)" }
            let whole = Int64(rounded.magnitude)
            let tenth = Int64(((rounded.magnitude - Double(whole)) * 10).rounded())
            return (rounded < 0 ? "-" : "") + grouped(String(whole)) + "." + String(tenth)
        }
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ digits: String) -> String {
        var body = Substring(digits)
        var sign = ""
        if body.first == "-" {
            sign = "-"
            body = body.dropFirst()
        }
        var groups: [Substring] = []
        while body.count > 3 {
            groups.insert(body.suffix(3), at: 0)
            body = body.dropLast(3)
        }
        groups.insert(body, at: 0)
        return sign + groups.joined(separator: ",")
    }
}
