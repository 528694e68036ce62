/// Appends values in the wire format to a byte array: little-endian fixed-width integers, LEB128
/// varints, IEEE doubles by bit pattern, and length-prefixed byte strings.
///
/// ```swift
/// var writer = WireWriter()
/// writer.writeVarint(42)
/// writer.writeString("hello")
/// let bytes = writer.bytes
/// ```
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates a writer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        if capacity > 0 { bytes.reserveCapacity(capacity) }
    }

    /// The number of bytes written.
    public var count: Int { bytes.count }

    /// Reserves room for `count` more bytes.
    public mutating func reserveCapacity(adding count: Int) {
        bytes.reserveCapacity(bytes.count + count)
    }

    /// Writes one byte.
    public mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    /// Writes a boolean as one byte, 0 or 1.
    public mutating func writeBool(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// Writes a 16-bit unsigned integer, little-endian.
    public mutating func writeUInt16(_ value: UInt16) {
        writeFixed(value)
    }

    /// Writes a 32-bit unsigned integer, little-endian.
    public mutating func writeUInt32(_ value: UInt32) {
        writeFixed(value)
    }

    /// Writes a 64-bit unsigned integer, little-endian.
    public mutating func writeUInt64(_ value: UInt64) {
        writeFixed(value)
    }

    /// Writes a 64-bit signed integer, little-endian two's complement.
    public mutating func writeInt64(_ value: Int64) {
        writeFixed(UInt64(bitPattern: value))
    }

    /// Writes a double as its IEEE 754 bit pattern, little-endian (NaN payloads and `-0.0` survive).
    public mutating func writeDouble(_ value: Double) {
        writeFixed(value.bitPattern)
    }

    @inline(__always)
    private mutating func writeFixed<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes an unsigned integer as a LEB128 varint (7 bits per byte, low bits first; 1–10 bytes).
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Writes a count or length (a non-negative `Int`) as a varint.
    public mutating func writeCount(_ value: Int) {
        precondition(value >= 0, "negative count \(value)")
        writeVarint(UInt64(value))
    }

    /// Writes a signed integer as a zig-zag varint (small magnitudes take few bytes).
    public mutating func writeSignedVarint(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Writes bytes as they are, without a length.
    public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    /// Writes bytes as they are, without a length.
    public mutating func writeRaw(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// Writes a varint length followed by the bytes.
    public mutating func writeBytes(_ raw: [UInt8]) {
        writeCount(raw.count)
        bytes.append(contentsOf: raw)
    }

    /// Writes a string as a varint byte length followed by its UTF-8 bytes.
    public mutating func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeCount(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Writes an array of 64-bit integers as one little-endian block (no length).
    public mutating func writeInt64Block(_ values: [Int64]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { writeInt64(value) }
        #endif
    }

    /// Writes an array of doubles as one little-endian block of bit patterns (no length).
    public mutating func writeDoubleBlock(_ values: [Double]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { writeDouble(value) }
        #endif
    }

    /// Writes an array of 32-bit unsigned integers as one little-endian block (no length).
    public mutating func writeUInt32Block(_ values: ArraySlice<UInt32>) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { writeUInt32(value) }
        #endif
    }

    /// Writes an array of 64-bit unsigned integers as one little-endian block (no length).
    public mutating func writeUInt64Block(_ values: [UInt64]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for value in values { writeUInt64(value) }
        #endif
    }

    /// Overwrites 4 bytes at `offset` (written earlier) with `value`, little-endian.
    public mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "patch outside the written bytes")
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<4 { bytes[offset + i] = raw[i] }
        }
    }

    /// Writes a value that knows its wire form.
    public mutating func write(_ value: some WireEncodable) {
        value.encode(into: &self)
    }
}
