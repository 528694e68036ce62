import NIOCore
import QueryCore

/// Splits a byte stream into ``TransportFrame``s.
///
/// Checks the header as soon as its bytes are there: bad magic or version (garbage, or a peer
/// speaking something else) and a declared length above ``maximumFrameLength`` throw at once,
/// before any body bytes are buffered. `ByteToMessageHandler` then reports the error and the
/// connection is closed; other connections are not affected.
struct TransportFrameDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = TransportFrame

    /// The largest body accepted, in bytes.
    let maximumFrameLength: Int

    init(maximumFrameLength: Int) {
        self.maximumFrameLength = maximumFrameLength
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> TransportFrame? {
        let start = buffer.readerIndex
        if buffer.readableBytes >= 2, let magic = buffer.getInteger(at: start, as: UInt16.self),
            magic != TransportFrame.magic
        {
            throw QueryError(
                .decodingFailed, "bad frame magic 0x\(String(magic, radix: 16)) (not a swift-query peer?)")
        }
        guard buffer.readableBytes >= TransportFrame.headerLength,
            let version = buffer.getInteger(at: start + 2, as: UInt8.self),
            let kind = buffer.getInteger(at: start + 3, as: UInt8.self),
            let length = buffer.getInteger(at: start + 4, as: UInt32.self)
        else { return nil }
        guard version == TransportFrame.version else {
            throw QueryError(.decodingFailed, "unsupported transport protocol version \(version)")
        }
        guard Int(length) <= maximumFrameLength else {
            throw QueryError(
                .limitExceeded, "frame declares \(length) bytes, above the limit of \(maximumFrameLength)")
        }
        guard buffer.readableBytes >= TransportFrame.headerLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: TransportFrame.headerLength)
        var body = buffer.readSlice(length: Int(length))!
        return try TransportFrame.decode(kind: kind, body: &body)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> TransportFrame? {
        try decode(buffer: &buffer)
    }
}

/// Writes ``TransportFrame``s.
struct TransportFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = TransportFrame

    func encode(data: TransportFrame, out: inout ByteBuffer) throws {
        data.write(to: &out)
    }
}
