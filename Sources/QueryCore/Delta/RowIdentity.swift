/// Exact row identity for deltas: hashing and equality over column arrays, without building
/// `Value`s or `[Value]`s per row.
///
/// Two values are *identical* when they are both null, or both non-null of the same storage class
/// with the same bits: integers and booleans by value, reals by bit pattern (so `-0.0` differs from
/// `0.0`, and a NaN equals a NaN with the same payload), text by its UTF-8 bytes. This is SQLite's
/// equality for typed columns, made exact for floats so that a delta reproduces its target bit for
/// bit; in ``ColumnType/any`` columns, `1` and `1.0` are different values for the same reason.
enum RowIdentity {
    /// The seed every row hash starts from: random per process, as Swift's `Hasher` is, so crafted
    /// rows cannot force collisions. Results never depend on it (diff and apply output rows in row
    /// order, not hash order), so runs stay reproducible.
    static let seed: UInt64 = UInt64.random(in: .min ... .max)
    /// Mixed in for a null value.
    static let nullMark: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// One step of the row hash: folds `value` into `hash`.
    @inline(__always)
    static func mix(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        var h = (hash ^ value) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        return h &* 0x94D0_49BB_1331_11EB
    }

    /// The final avalanche applied before a hash picks a slot.
    @inline(__always)
    static func finish(_ hash: UInt64) -> UInt64 {
        var h = hash
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    /// A hash of UTF-8 bytes, 8 at a time.
    @inline(__always)
    static func hashBytes(_ base: UnsafePointer<UInt8>?, _ count: Int) -> UInt64 {
        var h = mix(0x5851_F42D_4C95_7F2D, UInt64(count))
        guard let base, count > 0 else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= count {
            h = mix(h, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < count {
                tail |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h, tail)
        }
        return h
    }

    /// The identity hash of one `Value` (for ``ColumnType/any`` columns).
    static func hash(_ value: Value) -> UInt64 {
        switch value {
        case .null: return nullMark
        case .integer(let i): return mix(1, UInt64(bitPattern: i))
        case .real(let d): return mix(2, d.bitPattern)
        case .boolean(let b): return mix(3, b ? 1 : 0)
        case .text(let s):
            var s = s
            return s.withUTF8 { mix(4, hashBytes($0.baseAddress, $0.count)) }
        }
    }

    /// Whether two `Value`s are identical (same storage class and bits).
    static func identical(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.integer(let x), .integer(let y)): return x == y
        case (.real(let x), .real(let y)): return x.bitPattern == y.bitPattern
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.text(let x), .text(let y)): return x.utf8.elementsEqual(y.utf8)
        default: return false
        }
    }

    /// Per-row hashes of `columns` (all with `rowCount` rows), column by column.
    ///
    /// - Complexity: O(rows × columns), one allocation.
    static func hashes(of columns: [Column], rowCount: Int) -> [UInt64] {
        var hashes = [UInt64](repeating: seed, count: rowCount)
        guard rowCount > 0 else { return hashes }
        hashes.withUnsafeMutableBufferPointer { h in
            for (position, column) in columns.enumerated() {
                let salt = UInt64(position) &* 0xD6E8_FEB8_6659_FD93
                hashColumn(column, salt: salt, into: h)
            }
        }
        return hashes
    }

    private static func hashColumn(_ column: Column, salt: UInt64, into h: UnsafeMutableBufferPointer<UInt64>) {
        let nulls = column.nulls
        switch column.storage {
        case .integer(let values):
            values.withUnsafeBufferPointer { v in
                if let nulls {
                    for i in 0..<h.count {
                        h[i] = mix(h[i], nulls.isNull(i) ? nullMark : UInt64(bitPattern: v[i]) ^ salt)
                    }
                } else {
                    for i in 0..<h.count { h[i] = mix(h[i], UInt64(bitPattern: v[i]) ^ salt) }
                }
            }
        case .real(let values):
            values.withUnsafeBufferPointer { v in
                if let nulls {
                    for i in 0..<h.count { h[i] = mix(h[i], nulls.isNull(i) ? nullMark : v[i].bitPattern ^ salt) }
                } else {
                    for i in 0..<h.count { h[i] = mix(h[i], v[i].bitPattern ^ salt) }
                }
            }
        case .boolean(let values):
            values.withUnsafeBufferPointer { v in
                for i in 0..<h.count {
                    let isNull = nulls?.isNull(i) ?? false
                    h[i] = mix(h[i], isNull ? nullMark : (v[i] ? 1 : 0) ^ salt)
                }
            }
        case .text(let text):
            text.bytes.withUnsafeBufferPointer { bytes in
                text.offsets.withUnsafeBufferPointer { offsets in
                    for i in 0..<h.count {
                        if let nulls, nulls.isNull(i) {
                            h[i] = mix(h[i], nullMark)
                            continue
                        }
                        let start = Int(offsets[i])
                        let end = Int(offsets[i + 1])
                        let textHash = hashBytes(bytes.baseAddress.map { $0 + start }, end - start)
                        h[i] = mix(h[i], textHash ^ salt)
                    }
                }
            }
        case .any(let values):
            for i in 0..<h.count {
                let value = (nulls?.isNull(i) ?? false) ? Value.null : values[i]
                h[i] = mix(h[i], value.isNull ? nullMark : hash(value) ^ salt)
            }
        }
    }

    /// Whether row `i` of `a` and row `j` of `b` are identical (columns pairwise of the same type).
    static func rowsIdentical(_ a: [Column], _ i: Int, _ b: [Column], _ j: Int) -> Bool {
        for c in 0..<a.count where !valuesIdentical(a[c], i, b[c], j) {
            return false
        }
        return true
    }

    /// Whether row `i` of column `a` and row `j` of column `b` are identical.
    @inline(__always)
    static func valuesIdentical(_ a: Column, _ i: Int, _ b: Column, _ j: Int) -> Bool {
        // Nested switches (not a tuple of both storages) so no payload is copied or retained.
        switch a.storage {
        case .integer(let x):
            guard case .integer(let y) = b.storage else { return false }
            return nullsAgree(a, i, b, j) { x[i] == y[j] }
        case .real(let x):
            guard case .real(let y) = b.storage else { return false }
            return nullsAgree(a, i, b, j) { x[i].bitPattern == y[j].bitPattern }
        case .boolean(let x):
            guard case .boolean(let y) = b.storage else { return false }
            return nullsAgree(a, i, b, j) { x[i] == y[j] }
        case .text(let x):
            guard case .text(let y) = b.storage else { return false }
            return nullsAgree(a, i, b, j) {
                let xStart = Int(x.offsets[i])
                let xCount = Int(x.offsets[i + 1]) - xStart
                let yStart = Int(y.offsets[j])
                guard xCount == Int(y.offsets[j + 1]) - yStart else { return false }
                guard xCount > 0 else { return true }
                return x.bytes.withUnsafeBufferPointer { xb in
                    y.bytes.withUnsafeBufferPointer { yb in
                        bytesEqual(xb.baseAddress! + xStart, yb.baseAddress! + yStart, xCount)
                    }
                }
            }
        case .any:
            return identical(a[i], b[j])
        }
    }

    /// Whether `count` bytes at `a` and `b` are equal: 32 at a time, then 8 at a time, and the last
    /// few as one 8-byte word overlapping the bytes already compared (a byte loop only below 8).
    @inline(__always)
    static func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let x = UnsafeRawPointer(a)
        let y = UnsafeRawPointer(b)
        @inline(__always)
        func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 { p.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        guard count >= 8 else {
            for i in 0..<count where a[i] != b[i] { return false }
            return true
        }
        var i = 0
        while i + 32 <= count {
            let difference =
                (word(x, i) ^ word(y, i)) | (word(x, i + 8) ^ word(y, i + 8))
                | (word(x, i + 16) ^ word(y, i + 16)) | (word(x, i + 24) ^ word(y, i + 24))
            if difference != 0 { return false }
            i += 32
        }
        while i + 8 <= count {
            if word(x, i) != word(y, i) { return false }
            i += 8
        }
        return i == count || word(x, count - 8) == word(y, count - 8)
    }

    /// Whether both values are null, or neither is and `values` says they are equal.
    @inline(__always)
    private static func nullsAgree(_ a: Column, _ i: Int, _ b: Column, _ j: Int, _ values: () -> Bool) -> Bool {
        let aNull = a.isNull(i)
        let bNull = b.isNull(j)
        if aNull || bNull { return aNull == bNull }
        return values()
    }
}
