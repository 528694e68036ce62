public import QueryCore

extension PrometheusExposition {
    /// Parses Prometheus text exposition format 0.0.4.
    ///
    /// Follows the format's rules: `# HELP name text` (escapes `\\` and `\n`), `# TYPE name type`
    /// (at most one per family, before its samples), other `#` lines are comments; sample lines
    /// `name{label="value",…} value [timestamp]` with label values escaped by `\\`, `\"` and
    /// `\n`, an optional trailing comma in the label set, values in Go float syntax including
    /// `NaN`, `+Inf` and `-Inf`, and an optional integer timestamp in milliseconds. Blank lines and
    /// `\r\n` endings are accepted.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.decodingFailed` with the line and column of the first
    ///   problem (``QueryCore/QueryError/location``) and what was expected there.
    public static func parse(_ text: String) throws(QueryError) -> PrometheusExposition {
        var families: [PrometheusMetricFamily] = []
        var familyIndex: [String: Int] = [:]
        var typed: [String: PrometheusMetricType] = [:]
        var helped = Set<String>()
        let bytes = Array(text.utf8)
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            var cursor = Cursor(bytes: bytes, start: lineStart, end: contentEnd, index: lineStart, line: lineNumber)
            defer { lineStart = lineEnd + 1 }
            cursor.skipBlanks()
            if cursor.atEnd { continue }
            if cursor.peek == UInt8(ascii: "#") {
                cursor.index += 1
                cursor.skipBlanks()
                let keywordStart = cursor.index
                let keyword = cursor.token()
                guard keyword == "HELP" || keyword == "TYPE", cursor.skipBlanks() > 0 || cursor.atEnd else { continue }
                guard !cursor.atEnd else {
                    throw cursor.error("expected a metric name after \(keyword)", at: keywordStart)
                }
                let nameStart = cursor.index
                let name = try cursor.metricName()
                if keyword == "TYPE" {
                    guard cursor.skipBlanks() > 0, !cursor.atEnd else {
                        throw cursor.error("expected a type after the metric name")
                    }
                    let typeStart = cursor.index
                    let word = cursor.token()
                    guard let type = PrometheusMetricType(rawValue: word) else {
                        throw cursor.error(
                            "unknown metric type '\(word.prefix(40))'; expected counter, gauge, histogram, summary or untyped",
                            at: typeStart
                        )
                    }
                    cursor.skipBlanks()
                    guard cursor.atEnd else { throw cursor.error("unexpected text after the type") }
                    guard typed[name] == nil else {
                        throw cursor.error("second TYPE line for metric '\(name)'", at: nameStart)
                    }
                    if let index = familyIndex[name], !families[index].samples.isEmpty {
                        throw cursor.error("TYPE line for metric '\(name)' after its samples", at: nameStart)
                    }
                    typed[name] = type
                    let index = familyIndex[name] ?? append(name, to: &families, index: &familyIndex)
                    families[index].type = type
                } else {
                    guard !helped.contains(name) else {
                        throw cursor.error("second HELP line for metric '\(name)'", at: nameStart)
                    }
                    helped.insert(name)
                    var help = ""
                    if cursor.skipBlanks() > 0 { help = try cursor.helpText() }
                    let index = familyIndex[name] ?? append(name, to: &families, index: &familyIndex)
                    families[index].help = help
                }
                continue
            }
            let sample = try cursor.sample()
            let family = familyName(of: sample.name, typed: typed)
            let index = familyIndex[family] ?? append(family, to: &families, index: &familyIndex)
            families[index].samples.append(sample)
        }
        return PrometheusExposition(families: families)
    }

    private static func append(
        _ name: String,
        to families: inout [PrometheusMetricFamily],
        index: inout [String: Int]
    ) -> Int {
        families.append(PrometheusMetricFamily(name: name))
        index[name] = families.count - 1
        return families.count - 1
    }

    /// The family a sample belongs to: a histogram's or summary's suffixed samples go to the
    /// typed base name.
    private static func familyName(of sample: String, typed: [String: PrometheusMetricType]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            switch typed[base] {
            case .histogram?: return base
            case .summary? where suffix != "_bucket": return base
            default: continue
            }
        }
        return sample
    }

    /// A position within one line of the exposition.
    struct Cursor {
        let bytes: [UInt8]
        let start: Int
        let end: Int
        var index: Int
        let line: Int

        var atEnd: Bool { index >= end }
        var peek: UInt8? { index < end ? bytes[index] : nil }

        func error(_ message: String, at position: Int? = nil) -> QueryError {
            let offset = min(position ?? index, end)
            let column = String(decoding: bytes[start..<offset], as: UTF8.self).count + 1
            return QueryError(
                .decodingFailed,
                "exposition line \(line), column \(column): \(message)",
                at: SourceLocation(line: line, column: column, offset: offset)
            )
        }

        @discardableResult
        mutating func skipBlanks() -> Int {
            let from = index
            while let b = peek, b == 0x20 || b == 0x09 { index += 1 }
            return index - from
        }

        /// Bytes up to the next blank or the end of the line.
        mutating func token() -> String {
            let from = index
            while let b = peek, b != 0x20, b != 0x09 { index += 1 }
            return String(decoding: bytes[from..<index], as: UTF8.self)
        }

        static func isNameStart(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == UInt8(ascii: "_")
        }

        static func isNameByte(_ b: UInt8) -> Bool { isNameStart(b) || (b >= 0x30 && b <= 0x39) }

        /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
        mutating func metricName() throws(QueryError) -> String {
            let from = index
            guard let first = peek, Cursor.isNameStart(first) || first == UInt8(ascii: ":") else {
                throw error("expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
            }
            index += 1
            while let b = peek, Cursor.isNameByte(b) || b == UInt8(ascii: ":") { index += 1 }
            return String(decoding: bytes[from..<index], as: UTF8.self)
        }

        /// `[a-zA-Z_][a-zA-Z0-9_]*`
        mutating func labelName() throws(QueryError) -> String {
            let from = index
            guard let first = peek, Cursor.isNameStart(first) else {
                throw error("expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
            }
            index += 1
            while let b = peek, Cursor.isNameByte(b) { index += 1 }
            return String(decoding: bytes[from..<index], as: UTF8.self)
        }

        /// The rest of a `# HELP` line, with `\\` and `\n` unescaped.
        mutating func helpText() throws(QueryError) -> String {
            var out: [UInt8] = []
            while let b = peek {
                index += 1
                guard b == UInt8(ascii: "\\") else {
                    out.append(b)
                    continue
                }
                switch peek {
                case UInt8(ascii: "\\")?: out.append(b)
                case UInt8(ascii: "n")?: out.append(0x0A)
                default:
                    throw error("invalid escape sequence in HELP text; only \\\\ and \\n are allowed", at: index - 1)
                }
                index += 1
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// A quoted label value with `\\`, `\"` and `\n` unescaped.
        mutating func labelValue() throws(QueryError) -> String {
            guard peek == UInt8(ascii: "\"") else { throw error("expected '\"' to start the label value") }
            index += 1
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw error("unterminated label value") }
                index += 1
                if b == UInt8(ascii: "\"") { break }
                guard b == UInt8(ascii: "\\") else {
                    out.append(b)
                    continue
                }
                switch peek {
                case UInt8(ascii: "\\")?: out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\"")?: out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "n")?: out.append(0x0A)
                default:
                    throw error(
                        "invalid escape sequence in label value; only \\\\, \\\" and \\n are allowed",
                        at: index - 1
                    )
                }
                index += 1
            }
            return String(decoding: out, as: UTF8.self)
        }

        /// One sample line.
        mutating func sample() throws(QueryError) -> PrometheusSample {
            let name = try metricName()
            var labels: [(name: String, value: String)] = []
            let blanksAfterName = skipBlanks()
            if peek == UInt8(ascii: "{") {
                index += 1
                while true {
                    skipBlanks()
                    if peek == UInt8(ascii: "}") {
                        index += 1
                        break
                    }
                    let labelStart = index
                    let label = try labelName()
                    guard !labels.contains(where: { $0.name == label }) else {
                        throw error("label '\(label)' appears twice", at: labelStart)
                    }
                    skipBlanks()
                    guard peek == UInt8(ascii: "=") else { throw error("expected '=' after label name '\(label)'") }
                    index += 1
                    skipBlanks()
                    labels.append((label, try labelValue()))
                    skipBlanks()
                    if peek == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    guard peek == UInt8(ascii: "}") else {
                        throw error("expected ',' or '}' after the value of label '\(label)'")
                    }
                    index += 1
                    break
                }
                skipBlanks()
            } else if blanksAfterName == 0, !atEnd {
                throw error("expected '{' or a blank after the metric name '\(name)'")
            }
            guard !atEnd else { throw error("expected a value after '\(name)'") }
            let valueStart = index
            let valueText = token()
            guard let value = Cursor.parseValue(valueText) else {
                throw error("'\(valueText.prefix(40))' is not a number (nor NaN, +Inf, -Inf)", at: valueStart)
            }
            var timestamp: Int64?
            if skipBlanks() > 0, !atEnd {
                let stampStart = index
                let stampText = token()
                guard let stamp = Int64(stampText) else {
                    throw error("'\(stampText.prefix(40))' is not a timestamp (integer milliseconds)", at: stampStart)
                }
                timestamp = stamp
                skipBlanks()
            }
            guard atEnd else { throw error("unexpected text after the sample") }
            return PrometheusSample(name: name, labels: labels, value: value, timestamp: timestamp, line: line)
        }

        /// A sample value in Go's float syntax: decimal or hex floats, `NaN`, `Inf`, `+Inf`,
        /// `-Inf` (case-insensitive).
        static func parseValue(_ text: String) -> Double? {
            switch text.lowercased() {
            case "nan": return .nan
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            default: break
            }
            guard !text.isEmpty,
                text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || "+-.eExXpPaAbBcCdDfF".utf8.contains($0) })
            else { return nil }
            return Double(text)
        }
    }
}
