/// Reads values in the wire format from a byte array, checking every read against the bytes that
/// remain.
///
/// Every failure is a ``QueryError`` with code `.decodingFailed` whose message ends with
/// "at byte N" (the offset from the start of the array). A reader never traps on its input, and
/// never reserves memory for more elements than the remaining bytes could hold: counts are checked
/// with ``readCount(minimumElementSize:what:)`` before anything is allocated.
public struct WireReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var position: Int
    /// The offset just past the last readable byte.
    public let end: Int

    /// A reader of `bytes[range]` (all of `bytes` by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        let range = range ?? 0..<bytes.count
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "range outside the bytes")
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
    }

    /// The number of bytes not yet read.
    public var remaining: Int { end - position }

    /// Whether every byte was read.
    public var isAtEnd: Bool { position == end }

    /// An error at the current position.
    public func error(_ message: String) -> QueryError {
        QueryError(.decodingFailed, "\(message) at byte \(position)")
    }

    /// An error at `offset`.
    public func error(_ message: String, at offset: Int) -> QueryError {
        QueryError(.decodingFailed, "\(message) at byte \(offset)")
    }

    /// Throws unless every byte was read.
    public func expectEnd(_ what: @autoclosure () -> String = "message") throws(QueryError) {
        guard isAtEnd else { throw error("\(remaining) unexpected trailing byte(s) after the \(what())") }
    }

    @inline(__always)
    private func need(_ count: Int, _ what: @autoclosure () -> String) throws(QueryError) {
        guard count <= remaining else {
            throw error("truncated \(what()): \(count) byte(s) needed, \(remaining) left")
        }
    }

    /// Reads one byte.
    public mutating func readUInt8(_ what: @autoclosure () -> String = "byte") throws(QueryError) -> UInt8 {
        try need(1, what())
        let value = bytes[position]
        position += 1
        return value
    }

    /// Reads a boolean byte, which must be 0 or 1.
    public mutating func readBool(_ what: @autoclosure () -> String = "boolean") throws(QueryError) -> Bool {
        let start = position
        let byte = try readUInt8(what())
        guard byte <= 1 else { throw error("invalid \(what()) \(byte) (expected 0 or 1)", at: start) }
        return byte == 1
    }

    @inline(__always)
    private mutating func readFixed<T: FixedWidthInteger>(
        _: T.Type,
        _ what: @autoclosure () -> String
    ) throws(QueryError) -> T {
        let size = MemoryLayout<T>.size
        try need(size, what())
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
        position += size
        return T(littleEndian: value)
    }

    /// Reads a little-endian 16-bit unsigned integer.
    public mutating func readUInt16(_ what: @autoclosure () -> String = "UInt16") throws(QueryError) -> UInt16 {
        try readFixed(UInt16.self, what())
    }

    /// Reads a little-endian 32-bit unsigned integer.
    public mutating func readUInt32(_ what: @autoclosure () -> String = "UInt32") throws(QueryError) -> UInt32 {
        try readFixed(UInt32.self, what())
    }

    /// Reads a little-endian 64-bit unsigned integer.
    public mutating func readUInt64(_ what: @autoclosure () -> String = "UInt64") throws(QueryError) -> UInt64 {
        try readFixed(UInt64.self, what())
    }

    /// Reads a little-endian 64-bit signed integer.
    public mutating func readInt64(_ what: @autoclosure () -> String = "Int64") throws(QueryError) -> Int64 {
        Int64(bitPattern: try readFixed(UInt64.self, what()))
    }

    /// Reads a double from its little-endian bit pattern.
    public mutating func readDouble(_ what: @autoclosure () -> String = "double") throws(QueryError) -> Double {
        Double(bitPattern: try readFixed(UInt64.self, what()))
    }

    /// Reads a LEB128 varint of at most 10 bytes that fits in 64 bits.
    public mutating func readVarint(_ what: @autoclosure () -> String = "varint") throws(QueryError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("truncated \(what())", at: start) }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw error("\(what()) overflows 64 bits", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Reads a zig-zag varint.
    public mutating func readSignedVarint(
        _ what: @autoclosure () -> String = "signed varint"
    ) throws(QueryError) -> Int64 {
        let raw = try readVarint(what())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a count of elements that each take at least `minimumElementSize` bytes on the wire,
    /// and checks that the remaining bytes can hold that many, so the caller may reserve `count`
    /// elements safely.
    ///
    /// - Parameters:
    ///   - minimumElementSize: The fewest bytes one element can take (at least 0; with 0 only the
    ///     varint range is checked, so use `limit`).
    ///   - limit: An upper bound for the count regardless of size.
    ///   - what: What is counted, for the error message.
    public mutating func readCount(
        minimumElementSize: Int,
        limit: Int = Int(Int32.max),
        what: @autoclosure () -> String = "count"
    ) throws(QueryError) -> Int {
        let start = position
        let raw = try readVarint(what())
        guard limit >= 0, raw <= UInt64(limit) else {
            throw error("\(what()) \(raw) is above the limit of \(limit)", at: start)
        }
        let count = Int(raw)
        if minimumElementSize > 0 {
            let (needed, overflow) = count.multipliedReportingOverflow(by: minimumElementSize)
            guard !overflow, needed <= remaining else {
                throw error("\(what()) \(count) needs at least \(needed) byte(s), only \(remaining) left", at: start)
            }
        }
        return count
    }

    /// Reads `count` raw bytes.
    public mutating func readRaw(count: Int, _ what: @autoclosure () -> String = "bytes") throws(QueryError) -> [UInt8]
    {
        guard count >= 0 else { throw error("negative length for \(what())") }
        try need(count, what())
        let slice = Array(bytes[position..<(position + count)])
        position += count
        return slice
    }

    /// Calls `body` with the next `count` bytes, without copying them, and moves past them.
    public mutating func withRaw<R>(
        count: Int,
        _ what: @autoclosure () -> String,
        _ body: (UnsafeRawBufferPointer) throws(QueryError) -> R
    ) throws(QueryError) -> R {
        guard count >= 0 else { throw error("negative length for \(what())") }
        try need(count, what())
        let start = position
        let result: Result<R, QueryError> = bytes.withUnsafeBytes { raw in
            do throws(QueryError) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])))
            } catch {
                return .failure(error)
            }
        }
        position += count
        return try result.get()
    }

    /// Reads a varint length, then that many bytes.
    public mutating func readBytes(
        limit: Int = Int(Int32.max),
        _ what: @autoclosure () -> String = "bytes"
    ) throws(QueryError) -> [UInt8] {
        let count = try readCount(minimumElementSize: 1, limit: limit, what: "length of \(what())")
        return try readRaw(count: count, what())
    }

    /// Reads a varint byte length, then that many bytes of UTF-8, which must be valid.
    public mutating func readString(
        limit: Int = Int(Int32.max),
        _ what: @autoclosure () -> String = "string"
    ) throws(QueryError) -> String {
        let count = try readCount(minimumElementSize: 1, limit: limit, what: "length of \(what())")
        let start = position
        return try withRaw(count: count, what()) { raw throws(QueryError) in
            let utf8 = raw.bindMemory(to: UInt8.self)
            if let bad = UTF8Validation.firstInvalidOffset(utf8) {
                throw QueryError(.decodingFailed, "invalid UTF-8 in \(what()) at byte \(start + bad)")
            }
            return String(decoding: utf8, as: UTF8.self)
        }
    }

    /// Reads `count` little-endian 64-bit integers written as one block.
    public mutating func readInt64Block(
        count: Int,
        _ what: @autoclosure () -> String = "integers"
    ) throws(QueryError) -> [Int64] {
        try readBlock(Int64.self, count: count, what())
    }

    /// Reads `count` doubles written as one block of little-endian bit patterns.
    public mutating func readDoubleBlock(
        count: Int,
        _ what: @autoclosure () -> String = "reals"
    ) throws(QueryError) -> [Double] {
        try readBlock(Double.self, count: count, what())
    }

    /// Reads `count` little-endian 32-bit unsigned integers written as one block.
    public mutating func readUInt32Block(
        count: Int,
        _ what: @autoclosure () -> String = "UInt32s"
    ) throws(QueryError) -> [UInt32] {
        try readBlock(UInt32.self, count: count, what())
    }

    /// Reads `count` little-endian 64-bit unsigned integers written as one block.
    public mutating func readUInt64Block(
        count: Int,
        _ what: @autoclosure () -> String = "UInt64s"
    ) throws(QueryError) -> [UInt64] {
        try readBlock(UInt64.self, count: count, what())
    }

    private mutating func readBlock<T: BitwiseCopyable>(
        _: T.Type,
        count: Int,
        _ what: @autoclosure () -> String
    ) throws(QueryError) -> [T] {
        let size = MemoryLayout<T>.size
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: size)
        guard count >= 0, !overflow else { throw error("invalid element count \(count) for \(what())") }
        try need(byteCount, what())
        let start = position
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + byteCount)])
                )
            }
            initialized = count
        }
        position += byteCount
        #if _endian(big)
        return values.map { value in
            // Byte-swap each element in place.
            var swapped = value
            withUnsafeMutableBytes(of: &swapped) { $0.reverse() }
            return swapped
        }
        #else
        return values
        #endif
    }

    /// Reads a value that knows its wire form.
    public mutating func read<T: WireDecodable>(_: T.Type = T.self) throws(QueryError) -> T {
        try T(from: &self)
    }
}
