/// A value with a wire form that a ``WireWriter`` can append.
public protocol WireEncodable {
    /// Appends the value's wire form to `writer`.
    func encode(into writer: inout WireWriter)
}

/// A value that can be read back from its wire form.
public protocol WireDecodable {
    /// Reads one value from `reader`.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` (or `.limitExceeded`) saying what was wrong and at
    ///   which byte.
    init(from reader: inout WireReader) throws(QueryError)
}

/// A value with a wire form that can be written and read back.
public typealias WireCodable = WireDecodable & WireEncodable

extension WireEncodable {
    /// The value's wire form on its own.
    public func wireBytes() -> [UInt8] {
        var writer = WireWriter()
        encode(into: &writer)
        return writer.bytes
    }
}

extension WireDecodable {
    /// Reads a value from `bytes`, which must hold exactly one.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` for malformed or trailing bytes.
    public init(wireBytes bytes: [UInt8]) throws(QueryError) {
        var reader = WireReader(bytes)
        self = try Self(from: &reader)
        try reader.expectEnd("\(Self.self)")
    }
}
