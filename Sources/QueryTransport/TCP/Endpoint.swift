import QueryCore

/// A TCP address as configured: a host name or IP literal and a port.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible, Codable {
    /// Host name or IP address.
    public var host: String
    /// TCP port; 0 asks the system for a free port (listen only).
    public var port: Int

    /// Creates an endpoint.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (IPv6 as `[::1]:7000`).
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` naming the malformed text.
    public init(parsing text: String) throws(QueryError) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw QueryError(.invalidArgument, "endpoint '\(text)' needs a port: [host]:port")
            }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw QueryError(.invalidArgument, "endpoint '\(text)' needs a port: host:port")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty else {
            throw QueryError(.invalidArgument, "endpoint '\(text)' has an empty host")
        }
        guard let port = Int(portPart), (0...65_535).contains(port) else {
            throw QueryError(.invalidArgument, "endpoint '\(text)' has an invalid port '\(portPart)'")
        }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
