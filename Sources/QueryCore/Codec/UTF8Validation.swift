/// Strict UTF-8 validation (Unicode table 3-7: no overlong forms, no surrogates, nothing above
/// U+10FFFF) with an ASCII fast path, for text arriving from outside.
enum UTF8Validation {
    /// The offset of the first byte that starts an invalid sequence, or `nil` if `bytes` is valid.
    static func firstInvalidOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let count = bytes.count
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i < count {
            // Skip ASCII 8 bytes at a time.
            while i + 8 <= count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
            }
            guard i < count else { break }
            let b0 = base[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= count else { return i }
            let b1 = base[i + 1]
            guard b1 >= low && b1 <= high else { return i }
            for k in 2..<length where base[i + k] & 0xC0 != 0x80 {
                return i
            }
            i += length
        }
        return nil
    }

    /// Whether `byte` can start a UTF-8 sequence (is not a continuation byte).
    @inline(__always)
    static func isBoundary(_ byte: UInt8) -> Bool {
        byte & 0xC0 != 0x80
    }
}
