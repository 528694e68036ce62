@testable import QueryCore

/// Random schemas, values, segments and edits for property tests, with small domains so that
/// duplicates, key collisions and the tricky values (NaN, -0.0, extremes, unicode) are common.
enum RandomData {
    static let interestingIntegers: [Int64] = [0, 1, -1, 2, 42, .max, .min, .max - 1, .min + 1, 1 << 53]
    static let interestingReals: [Double] = [
        0.0, -0.0, 1.0, -1.5, .nan, -.nan, Double(nan: 7, signaling: false), .infinity, -.infinity,
        .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e300, 0.1,
    ]
    static let interestingTexts: [String] = [
        "", "a", "A", "abc", "é", "e\u{301}", "日本語", "🎉", "a\u{0}b", "tab\there", "line\nbreak",
        String(repeating: "x", count: 40), "Ω≈ç√",
    ]

    static func schema(using rng: inout SeededRandom, keyed: Bool? = nil) -> Schema {
        let count = Int.random(in: 1...6, using: &rng)
        var columns: [ColumnDefinition] = []
        for index in 0..<count {
            let type = rng.pick(ColumnType.allCases)
            columns.append(ColumnDefinition("c\(index)", type, nullable: rng.chance(0.6)))
        }
        var key: [String] = []
        if keyed ?? rng.chance(0.5) {
            let keyCount = Int.random(in: 1...min(2, count), using: &rng)
            key = Array(columns.map(\.name).shuffled(using: &rng).prefix(keyCount))
        }
        return try! Schema(columns, key: key)
    }

    static func value(_ column: ColumnDefinition, using rng: inout SeededRandom, domain: Int = 6) -> Value {
        if column.nullable && rng.chance(0.15) { return .null }
        switch column.type {
        case .integer:
            return rng.chance(0.3)
                ? .integer(rng.pick(interestingIntegers)) : .integer(Int64.random(in: 0..<Int64(domain), using: &rng))
        case .real:
            return rng.chance(0.4)
                ? .real(rng.pick(interestingReals)) : .real(Double(Int.random(in: 0..<domain, using: &rng)) / 4)
        case .text:
            return rng.chance(0.4)
                ? .text(rng.pick(interestingTexts)) : .text("t\(Int.random(in: 0..<domain, using: &rng))")
        case .boolean:
            return .boolean(rng.chance(0.5))
        case .any:
            let kind = Int.random(in: 0..<5, using: &rng)
            switch kind {
            case 0: return .integer(Int64.random(in: 0..<3, using: &rng))
            case 1:
                return .real(rng.chance(0.5) ? rng.pick(interestingReals) : Double(Int.random(in: 0..<3, using: &rng)))
            case 2: return .text(rng.pick(interestingTexts))
            case 3: return .boolean(rng.chance(0.5))
            default: return column.nullable ? .null : .integer(7)
            }
        }
    }

    static func row(_ schema: Schema, using rng: inout SeededRandom, domain: Int = 6) -> [Value] {
        schema.columns.map { value($0, using: &rng, domain: domain) }
    }

    /// Rows for `schema`, with unique keys when keyed.
    static func rows(_ schema: Schema, count: Int, using rng: inout SeededRandom) -> [[Value]] {
        var rows: [[Value]] = []
        var keys = Set<[ExactValue]>()
        var attempts = 0
        while rows.count < count && attempts < count * 4 {
            attempts += 1
            let row = row(schema, using: &rng)
            if schema.isKeyed {
                guard keys.insert(exactKey(row, schema)).inserted else { continue }
            }
            rows.append(row)
        }
        return rows
    }

    static func segment(_ schema: Schema, maxRows: Int = 30, using rng: inout SeededRandom) -> Segment {
        let count = rng.chance(0.1) ? 0 : Int.random(in: 0...maxRows, using: &rng)
        return try! Segment(schema: schema, rows: rows(schema, count: count, using: &rng))
    }

    /// A random edit of `segment`: deletes, changes, inserts, duplicates (keyless) and reordering.
    static func edit(_ segment: Segment, using rng: inout SeededRandom) -> Segment {
        let schema = segment.schema
        var rows = segment.rows
        if rng.chance(0.1) { return try! Segment(schema: schema, rows: []) }
        // Delete some.
        rows = rows.filter { _ in !rng.chance(0.2) }
        // Change some (non-key columns, occasionally a key column).
        for r in rows.indices where rng.chance(0.3) {
            let c = Int.random(in: 0..<schema.count, using: &rng)
            rows[r][c] = value(schema.columns[c], using: &rng)
        }
        // Insert some.
        rows += Self.rows(schema, count: Int.random(in: 0...6, using: &rng), using: &rng)
        // Duplicate some (keyless only).
        if !schema.isKeyed, !rows.isEmpty, rng.chance(0.4) {
            for _ in 0..<Int.random(in: 1...3, using: &rng) { rows.append(rng.pick(rows)) }
        }
        rows.shuffle(using: &rng)
        if schema.isKeyed {
            var keys = Set<[ExactValue]>()
            rows = rows.filter { keys.insert(exactKey($0, schema)).inserted }
        }
        return try! Segment(schema: schema, rows: rows)
    }

    static func exactKey(_ row: [Value], _ schema: Schema) -> [ExactValue] {
        schema.keyColumns.map { ExactValue(row[$0]) }
    }
}

/// A value compared and hashed exactly (storage class and bits), as deltas compare.
struct ExactValue: Hashable, Comparable, CustomStringConvertible {
    let tag: UInt8
    let bits: UInt64
    let text: String

    init(_ value: Value) {
        switch value {
        case .null: (tag, bits, text) = (0, 0, "")
        case .integer(let i): (tag, bits, text) = (1, UInt64(bitPattern: i), "")
        case .real(let d): (tag, bits, text) = (2, d.bitPattern, "")
        case .text(let s): (tag, bits, text) = (3, 0, s)
        case .boolean(let b): (tag, bits, text) = (4, b ? 1 : 0, "")
        }
    }

    static func == (a: ExactValue, b: ExactValue) -> Bool {
        a.tag == b.tag && a.bits == b.bits && Array(a.text.utf8) == Array(b.text.utf8)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(tag)
        hasher.combine(bits)
        hasher.combine(Array(text.utf8))
    }

    static func < (a: ExactValue, b: ExactValue) -> Bool {
        (a.tag, a.bits) < (b.tag, b.bits)
            || ((a.tag, a.bits) == (b.tag, b.bits) && Array(a.text.utf8).lexicographicallyPrecedes(Array(b.text.utf8)))
    }

    var description: String { "\(tag):\(bits):\(text)" }
}

extension Segment {
    /// The rows as exact values, in order.
    var exactRows: [[ExactValue]] { rows.map { $0.map(ExactValue.init) } }

    /// The rows as an exact multiset (reference implementation for tests).
    var exactMultiset: [[ExactValue]: Int] {
        var counts: [[ExactValue]: Int] = [:]
        for row in exactRows { counts[row, default: 0] += 1 }
        return counts
    }
}
