import CZlib

/// zlib (RFC 1950) compression of whole buffers, with bounded inflation.
///
/// A small value type over the system zlib: each call sets up and ends its own stream, so a `Zlib`
/// can be shared freely. Errors are ``QueryError`` with code `.compressionFailed`.
public struct Zlib: Sendable, Hashable {
    /// The compression level, 0 (store) to 9 (smallest); zlib's own default is 6.
    public var level: Int32

    /// The level used unless configured otherwise: a good ratio on table data at a fraction of
    /// level 6's time.
    public static let defaultLevel: Int32 = 4

    /// Creates a compressor.
    ///
    /// - Parameter level: 0–9; values outside are clamped.
    public init(level: Int32 = Zlib.defaultLevel) {
        self.level = Swift.max(0, Swift.min(9, level))
    }

    /// Compresses `input`.
    ///
    /// - Throws: ``QueryError`` `.compressionFailed` if zlib reports an error, `.limitExceeded` if the
    ///   input is larger than zlib can take in one call.
    public func compress(_ input: UnsafeRawBufferPointer) throws(QueryError) -> [UInt8] {
        guard UInt64(input.count) <= UInt64(UInt32.max) else {
            throw QueryError(.limitExceeded, "cannot compress \(input.count) bytes in one zlib call")
        }
        let bound = Int(compressBound(uLong(input.count)))
        var status: Int32 = Z_OK
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
            var outputLength = uLongf(bound)
            status = compress2(
                buffer.baseAddress,
                &outputLength,
                input.baseAddress?.assumingMemoryBound(to: Bytef.self),
                uLong(input.count),
                level
            )
            initialized = status == Z_OK ? Int(outputLength) : 0
        }
        guard status == Z_OK else {
            throw QueryError(.compressionFailed, "zlib compress failed with status \(status)")
        }
        return output
    }

    /// Compresses `input`.
    ///
    /// - Throws: ``QueryError`` `.compressionFailed` if zlib reports an error.
    public func compress(_ input: [UInt8]) throws(QueryError) -> [UInt8] {
        let result: Result<[UInt8], QueryError> = input.withUnsafeBytes { raw in
            do throws(QueryError) { return .success(try compress(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Inflates `input`, which must hold exactly one zlib stream of exactly `uncompressedLength`
    /// bytes.
    ///
    /// The output is allocated once at `uncompressedLength`, so the caller bounds memory by checking
    /// that length first (``Frame`` checks it against ``Frame/Configuration/maximumInflatedBytes``).
    ///
    /// - Throws: ``QueryError`` `.compressionFailed` if the stream is corrupt, inflates to more or
    ///   fewer bytes than declared, or is followed by trailing bytes.
    public static func decompress(
        _ input: UnsafeRawBufferPointer,
        uncompressedLength: Int
    ) throws(QueryError) -> [UInt8] {
        guard uncompressedLength >= 0, UInt64(uncompressedLength) <= UInt64(UInt32.max),
            UInt64(input.count) <= UInt64(UInt32.max)
        else {
            throw QueryError(.limitExceeded, "zlib input or output size out of range")
        }
        var status: Int32 = Z_OK
        var produced = 0
        var consumed = 0
        // zlib needs a non-null destination even for an empty output.
        let capacity = Swift.max(uncompressedLength, 1)
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            var outputLength = uLongf(uncompressedLength)
            var inputLength = uLong(input.count)
            status = uncompress2(
                buffer.baseAddress,
                &outputLength,
                input.baseAddress?.assumingMemoryBound(to: Bytef.self),
                &inputLength
            )
            produced = Int(outputLength)
            consumed = Int(inputLength)
            if status == Z_OK {
                initialized = produced
            } else {
                initialized = 0
            }
        }
        switch status {
        case Z_OK:
            break
        case Z_BUF_ERROR:
            throw QueryError(
                .compressionFailed,
                "zlib stream inflates to more than the declared \(uncompressedLength) bytes"
            )
        case Z_DATA_ERROR:
            throw QueryError(.compressionFailed, "zlib stream is corrupt or truncated")
        case Z_MEM_ERROR:
            throw QueryError(.compressionFailed, "zlib ran out of memory")
        default:
            throw QueryError(.compressionFailed, "zlib inflate failed with status \(status)")
        }
        guard produced == uncompressedLength else {
            throw QueryError(
                .compressionFailed,
                "zlib stream inflates to \(produced) bytes, \(uncompressedLength) were declared"
            )
        }
        guard consumed == input.count else {
            throw QueryError(.compressionFailed, "\(input.count - consumed) trailing byte(s) after the zlib stream")
        }
        return output
    }

    /// Inflates `input` (see ``decompress(_:uncompressedLength:)-(UnsafeRawBufferPointer,_)``).
    public static func decompress(_ input: [UInt8], uncompressedLength: Int) throws(QueryError) -> [UInt8] {
        let result: Result<[UInt8], QueryError> = input.withUnsafeBytes { raw in
            do throws(QueryError) {
                return .success(try decompress(raw, uncompressedLength: uncompressedLength))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
