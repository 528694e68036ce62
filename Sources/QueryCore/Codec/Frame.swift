/// One unit on the wire: a fixed 16-byte header and a body, zlib-compressed when that helps.
///
/// Header layout (integers little-endian):
///
/// | Offset | Size | Field |
/// |-------:|-----:|-------|
/// | 0 | 4 | magic `SQRY` |
/// | 4 | 1 | format version (``formatVersion``) |
/// | 5 | 1 | message type |
/// | 6 | 1 | flags: bit 0 = body is zlib-compressed; other bits must be 0 |
/// | 7 | 1 | reserved, must be 0 |
/// | 8 | 4 | body length: the bytes that follow the header |
/// | 12 | 4 | uncompressed body length (equal to the body length when not compressed) |
///
/// A stream transport reads ``Header/size`` bytes, parses them with ``Header/init(parsing:configuration:)``
/// (which rejects over-limit lengths before anything is buffered) and then waits for
/// ``Header/frameLength`` bytes in all.
public struct Frame: Sendable, Hashable {
    /// The message type byte (see `MessageType`).
    public var messageType: UInt8
    /// The uncompressed body.
    public var body: [UInt8]

    /// The four magic bytes `SQRY` that start every frame.
    public static let magic: [UInt8] = [0x53, 0x51, 0x52, 0x59]
    /// The format version this code writes and reads (2: updates and deferrals carry the sender's
    /// sequence number; 3: completeness figures carry a proxy's silent machines, combine requests
    /// the machines a TLA aged out; 4: updates name the tables asked for that their sender does not
    /// publish; 5: combine requests carry the newest generation relayed per cluster).
    public static let formatVersion: UInt8 = 5

    /// Creates a frame.
    public init(messageType: UInt8, body: [UInt8]) {
        self.messageType = messageType
        self.body = body
    }

    /// Limits and compression settings for encoding and decoding frames.
    public struct Configuration: Sendable, Hashable {
        /// The largest frame (header and body as sent) accepted; default 64 MiB.
        public var maximumFrameBytes: Int
        /// The largest body accepted after inflation; default 256 MiB.
        public var maximumInflatedBytes: Int
        /// Bodies of more than this many bytes are compressed when that makes them smaller; default
        /// 1 KiB. Use `Int.max` to never compress.
        public var compressionThreshold: Int
        /// The compressor for bodies above the threshold; default level ``Zlib/defaultLevel``.
        public var zlib: Zlib

        /// Creates a configuration; every parameter has the documented default.
        public init(
            maximumFrameBytes: Int = 64 << 20,
            maximumInflatedBytes: Int = 256 << 20,
            compressionThreshold: Int = 1024,
            zlib: Zlib = Zlib()
        ) {
            self.maximumFrameBytes = maximumFrameBytes
            self.maximumInflatedBytes = maximumInflatedBytes
            self.compressionThreshold = compressionThreshold
            self.zlib = zlib
        }

        /// The defaults.
        public static let `default` = Configuration()
    }

    /// A parsed frame header.
    public struct Header: Sendable, Hashable {
        /// The header's size in bytes.
        public static let size = 16
        /// The flag bit marking a compressed body.
        public static let compressedFlag: UInt8 = 1

        /// The message type byte.
        public var messageType: UInt8
        /// Whether the body is zlib-compressed.
        public var isCompressed: Bool
        /// The number of body bytes after the header.
        public var bodyLength: Int
        /// The body's length after inflation.
        public var uncompressedLength: Int

        /// The whole frame's length: header plus body.
        public var frameLength: Int { Header.size + bodyLength }

        /// Parses and checks the first ``size`` bytes of `bytes`.
        ///
        /// - Throws: ``QueryError`` `.decodingFailed` for fewer than ``size`` bytes, a wrong magic, an
        ///   unknown format version or flag, a non-zero reserved byte, or inconsistent lengths;
        ///   `.limitExceeded` if the frame or its inflated body is larger than `configuration` allows.
        public init(parsing bytes: UnsafeRawBufferPointer, configuration: Configuration = .default) throws(QueryError) {
            guard bytes.count >= Header.size else {
                throw QueryError(
                    .decodingFailed,
                    "truncated frame header: \(Header.size) bytes needed, \(bytes.count) present at byte 0"
                )
            }
            for i in 0..<4 where bytes[i] != Frame.magic[i] {
                throw QueryError(.decodingFailed, "bad frame magic at byte \(i)")
            }
            guard bytes[4] == Frame.formatVersion else {
                throw QueryError(
                    .decodingFailed,
                    "unsupported frame format version \(bytes[4]) (expected \(Frame.formatVersion)) at byte 4"
                )
            }
            let flags = bytes[6]
            guard flags & ~Header.compressedFlag == 0 else {
                throw QueryError(.decodingFailed, "unknown frame flags 0x\(String(flags, radix: 16)) at byte 6")
            }
            guard bytes[7] == 0 else {
                throw QueryError(.decodingFailed, "non-zero reserved frame byte at byte 7")
            }
            messageType = bytes[5]
            isCompressed = flags & Header.compressedFlag != 0
            bodyLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            uncompressedLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
            guard Header.size + bodyLength <= configuration.maximumFrameBytes else {
                throw QueryError(
                    .limitExceeded,
                    "frame of \(Header.size + bodyLength) bytes is above the limit of \(configuration.maximumFrameBytes) at byte 8"
                )
            }
            if isCompressed {
                guard uncompressedLength <= configuration.maximumInflatedBytes else {
                    throw QueryError(
                        .limitExceeded,
                        "frame body inflates to \(uncompressedLength) bytes, above the limit of \(configuration.maximumInflatedBytes) at byte 12"
                    )
                }
            } else {
                guard uncompressedLength == bodyLength else {
                    throw QueryError(
                        .decodingFailed,
                        "uncompressed frame declares body length \(bodyLength) but uncompressed length \(uncompressedLength) at byte 12"
                    )
                }
            }
        }

        /// Parses and checks the first ``size`` bytes of `bytes` (see ``init(parsing:configuration:)-(UnsafeRawBufferPointer,_)``).
        public init(parsing bytes: [UInt8], configuration: Configuration = .default) throws(QueryError) {
            let result: Result<Header, QueryError> = bytes.withUnsafeBytes { raw in
                do throws(QueryError) {
                    return .success(try Header(parsing: raw, configuration: configuration))
                } catch {
                    return .failure(error)
                }
            }
            self = try result.get()
        }
    }

    /// The frame's bytes: header and body, the body compressed when it is above the threshold and
    /// compression makes it smaller.
    ///
    /// - Important: A body larger than the receiver's ``Configuration/maximumFrameBytes`` is encoded
    ///   but will be refused; bodies must stay below 4 GiB.
    public func encoded(configuration: Configuration = .default) -> [UInt8] {
        precondition(body.count <= Int(UInt32.max), "frame body of \(body.count) bytes does not fit the header")
        var payload = body
        var flags: UInt8 = 0
        if body.count > configuration.compressionThreshold,
            let compressed = try? configuration.zlib.compress(body),
            compressed.count < body.count
        {
            payload = compressed
            flags = Header.compressedFlag
        }
        var writer = WireWriter(capacity: Header.size + payload.count)
        writer.writeRaw(Frame.magic)
        writer.writeUInt8(Frame.formatVersion)
        writer.writeUInt8(messageType)
        writer.writeUInt8(flags)
        writer.writeUInt8(0)
        writer.writeUInt32(UInt32(payload.count))
        writer.writeUInt32(UInt32(body.count))
        writer.writeRaw(payload)
        return writer.bytes
    }

    /// Decodes one frame that occupies exactly `bytes[range]` (all of `bytes` by default).
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` for a malformed header, a truncated body or
    ///   trailing bytes; `.limitExceeded` for over-limit lengths (checked before inflating);
    ///   `.compressionFailed` for a corrupt compressed body.
    public static func decode(
        _ bytes: [UInt8],
        range: Range<Int>? = nil,
        configuration: Configuration = .default
    ) throws(QueryError) -> Frame {
        let range = range ?? 0..<bytes.count
        let result: Result<Frame, QueryError> = bytes.withUnsafeBytes { all in
            do throws(QueryError) {
                return .success(try decode(UnsafeRawBufferPointer(rebasing: all[range]), configuration: configuration))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes one frame that occupies exactly `bytes`.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        configuration: Configuration = .default
    ) throws(QueryError) -> Frame {
        let header = try Header(parsing: bytes, configuration: configuration)
        guard bytes.count >= header.frameLength else {
            throw QueryError(
                .decodingFailed,
                "truncated frame: \(header.frameLength) bytes declared, \(bytes.count) present at byte \(bytes.count)"
            )
        }
        guard bytes.count == header.frameLength else {
            throw QueryError(
                .decodingFailed,
                "\(bytes.count - header.frameLength) trailing byte(s) after the frame at byte \(header.frameLength)"
            )
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[Header.size...])
        let body: [UInt8]
        if header.isCompressed {
            do {
                body = try Zlib.decompress(payload, uncompressedLength: header.uncompressedLength)
            } catch {
                throw QueryError(error.code, "\(error.message) in the frame body at byte \(Header.size)")
            }
        } else {
            body = Array(payload)
        }
        return Frame(messageType: header.messageType, body: body)
    }
}
