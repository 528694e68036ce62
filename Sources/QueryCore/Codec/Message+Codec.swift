/// Encoding ``Message``s as frames.
///
/// To add a message case: add a ``MessageType`` case with a new number, make the payload type
/// ``WireCodable``, and add one line to each of the three switches below.
extension Message {
    /// The type byte this message is framed with.
    public var messageType: MessageType {
        switch self {
        case .heartbeat: .heartbeat
        case .request: .request
        case .update: .update
        case .ack: .ack
        case .resync: .resync
        case .redirect: .redirect
        case .deferral: .deferral
        case .combine: .combine
        case .query: .query
        case .queryResponse: .queryResponse
        }
    }

    /// Appends the message's body (its payload, without type or frame).
    public func encodeBody(into writer: inout WireWriter) {
        switch self {
        case .heartbeat(let heartbeat): heartbeat.encode(into: &writer)
        case .request(let request): request.encode(into: &writer)
        case .update(let update): update.encode(into: &writer)
        case .ack(let ack): ack.encode(into: &writer)
        case .resync(let resync): resync.encode(into: &writer)
        case .redirect(let redirect): redirect.encode(into: &writer)
        case .deferral(let deferral): deferral.encode(into: &writer)
        case .combine(let combine): combine.encode(into: &writer)
        case .query(let query): query.encode(into: &writer)
        case .queryResponse(let response): response.encode(into: &writer)
        }
    }

    /// Reads the body of a message of `type`.
    public static func decodeBody(type: MessageType, from reader: inout WireReader) throws(QueryError) -> Message {
        switch type {
        case .heartbeat: .heartbeat(try Heartbeat(from: &reader))
        case .request: .request(try TableRequest(from: &reader))
        case .update: .update(try GenerationUpdate(from: &reader))
        case .ack: .ack(try TableAck(from: &reader))
        case .resync: .resync(try ResyncRequest(from: &reader))
        case .redirect: .redirect(try Redirect(from: &reader))
        case .deferral: .deferral(try Deferral(from: &reader))
        case .combine: .combine(try CombineRequest(from: &reader))
        case .query: .query(try RemoteQuery(from: &reader))
        case .queryResponse: .queryResponse(try QueryResponse(from: &reader))
        }
    }

    /// The message as a frame (not yet encoded).
    public var frame: Frame {
        var writer = WireWriter()
        encodeBody(into: &writer)
        return Frame(messageType: messageType.rawValue, body: writer.bytes)
    }

    /// The message as the bytes of one frame, its body compressed per `configuration`.
    public func encode(configuration: Frame.Configuration = .default) -> [UInt8] {
        frame.encoded(configuration: configuration)
    }

    /// The message a decoded frame carries.
    ///
    /// - Throws: ``QueryError`` `.decodingFailed` for an unknown type or a malformed or oversized body.
    public init(frame: Frame) throws(QueryError) {
        guard let type = MessageType(rawValue: frame.messageType) else {
            throw QueryError(.decodingFailed, "unknown message type \(frame.messageType) at byte 5")
        }
        var reader = WireReader(frame.body)
        do {
            self = try Message.decodeBody(type: type, from: &reader)
            try reader.expectEnd("\(type) message")
        } catch {
            throw QueryError(error.code, "\(type) message body: \(error.message) (offset within the body)")
        }
    }

    /// Decodes the one frame in `bytes[range]` (all of `bytes` by default).
    ///
    /// - Throws: ``QueryError`` from ``Frame/decode(_:range:configuration:)`` or ``init(frame:)``.
    public static func decode(
        _ bytes: [UInt8], range: Range<Int>? = nil, configuration: Frame.Configuration = .default
    ) throws(QueryError) -> Message {
        try Message(frame: try Frame.decode(bytes, range: range, configuration: configuration))
    }
}

/// The wire form of a ``Heartbeat``: the generation number as a varint.
extension Heartbeat: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.writeVarint(generation)
    }

    public init(from reader: inout WireReader) throws(QueryError) {
        self.init(generation: try reader.readVarint("heartbeat generation"))
    }
}
