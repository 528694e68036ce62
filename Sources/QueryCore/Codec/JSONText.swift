/// JSON text writing shared by every target that prints JSON lines (scenario output, replay
/// triggers, CLI output), so strings are escaped and reals printed one way everywhere.
package enum JSONText {
    /// Appends `s` as a JSON string literal (quotes, backslash, control characters escaped).
    package static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// `s` as a JSON string literal.
    package static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// A real as a JSON number: integral values below 10^15 keep a `.0`; NaN and infinities are `null`.
    package static func real(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if Value.exactInteger(d) != nil, abs(d) < 1e15 { return "\(Int64(d)).0" }
        return "\(d)"
    }
}
