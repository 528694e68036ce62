/// Text values stored as one contiguous UTF-8 buffer with row offsets (as Arrow does), so that
/// scans, comparisons and hashing touch bytes, not `String` objects.
public struct TextColumn: Sendable, Hashable {
    /// The UTF-8 bytes of every value, back to back.
    public private(set) var bytes: [UInt8]
    /// `offsets[i] ..< offsets[i + 1]` are the bytes of row `i`; `offsets.count == count + 1`.
    public private(set) var offsets: [UInt32]

    /// An empty column.
    public init() {
        bytes = []
        offsets = [0]
    }

    /// A column from raw parts; the caller has validated offsets and UTF-8.
    package init(bytes: [UInt8], offsets: [UInt32]) {
        self.bytes = bytes
        self.offsets = offsets
    }

    /// The number of values.
    @inlinable
    public var count: Int { offsets.count - 1 }

    /// The largest total size of one text column's bytes.
    public static let maximumBytes = Int(UInt32.max)

    /// Appends a value.
    ///
    /// - Throws: ``QueryError`` `.limitExceeded` if the column would exceed 4 GiB of text.
    public mutating func append(_ text: String) throws(QueryError) {
        guard bytes.count + text.utf8.count <= TextColumn.maximumBytes else {
            throw QueryError(.limitExceeded, "text column larger than 4 GiB")
        }
        bytes.append(contentsOf: text.utf8)
        offsets.append(UInt32(bytes.count))
    }

    /// Appends a value given as UTF-8 bytes (already valid UTF-8).
    public mutating func append(bytes buffer: UnsafeBufferPointer<UInt8>) throws(QueryError) {
        guard bytes.count + buffer.count <= TextColumn.maximumBytes else {
            throw QueryError(.limitExceeded, "text column larger than 4 GiB")
        }
        bytes.append(contentsOf: buffer)
        offsets.append(UInt32(bytes.count))
    }

    /// Appends an empty value (the placeholder under a null).
    public mutating func appendEmpty() {
        offsets.append(offsets[offsets.count - 1])
    }

    /// Reserves room for `count` more values of about `bytesPerValue` bytes.
    public mutating func reserveCapacity(values: Int, bytes byteCount: Int) {
        offsets.reserveCapacity(offsets.count + values)
        bytes.reserveCapacity(bytes.count + byteCount)
    }

    /// The value of row `index` as a `String`.
    @inlinable
    public subscript(index: Int) -> String {
        let start = Int(offsets[index]), end = Int(offsets[index + 1])
        return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 bytes of row `index`.
    @inlinable
    public func withBytes<R>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = Int(offsets[index]), end = Int(offsets[index + 1])
        return try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// The byte length of row `index`.
    @inlinable
    public func byteCount(at index: Int) -> Int { Int(offsets[index + 1] - offsets[index]) }
}
