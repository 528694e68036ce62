import QueryCore

/// A text column's values as dense dictionary codes: equal texts share a code, so grouping and
/// distinct counting over text compare small integers instead of bytes.
struct TextCodes: Sendable {
    /// The code of every row (`-1` for NULL); codes are numbered in order of first appearance.
    let codes: [Int32]
    /// The number of distinct non-NULL texts.
    let distinct: Int

    init(_ text: TextColumn, nulls: NullBitmap?) {
        var codes = [Int32](repeating: -1, count: text.count)
        // Keyed by `Value` (byte-wise equality, as SQLite's BINARY collation), not `String`
        // (whose equality is Unicode canonical equivalence).
        var map: [Value: Int32] = [:]
        for i in 0..<text.count where !(nulls?.isNull(i) ?? false) {
            let s = Value.text(text[i])
            if let c = map[s] {
                codes[i] = c
            } else {
                let c = Int32(map.count)
                map[s] = c
                codes[i] = c
            }
        }
        self.codes = codes
        distinct = map.count
    }
}
