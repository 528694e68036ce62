public import QueryCore

/// An `http://` or `https://` URL split into what a request needs: scheme, host, port and the
/// path with its query.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection uses TLS (`https`).
    public var isTLS: Bool
    /// The host name or address (IPv6 without brackets).
    public var host: String
    /// The port (default 80 or 443).
    public var port: Int
    /// The path and query, starting with `/`.
    public var target: String

    /// Parses `http[s]://host[:port][/path][?query]`.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` naming what is wrong.
    public init(_ text: String) throws(QueryError) {
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("http://") {
            isTLS = false
            rest = text.dropFirst(7)
        } else if lowered.hasPrefix("https://") {
            isTLS = true
            rest = text.dropFirst(8)
        } else {
            throw QueryError(.invalidArgument, "URL '\(text.prefix(100))' must start with http:// or https://")
        }
        let slash = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<slash]
        var path = String(rest[slash...])
        if path.isEmpty { path = "/" } else if path.first == "?" { path = "/" + path }
        guard !authority.contains("@") else {
            throw QueryError(.invalidArgument, "URL '\(text.prefix(100))': credentials in the URL are not supported")
        }
        var host = Substring(authority)
        var portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else {
                throw QueryError(.invalidArgument, "URL '\(text.prefix(100))': unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.first == ":" {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw QueryError(.invalidArgument, "URL '\(text.prefix(100))': unexpected text after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw QueryError(.invalidArgument, "URL '\(text.prefix(100))' has no host") }
        self.host = String(host)
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw QueryError(
                    .invalidArgument,
                    "URL '\(text.prefix(100))': port '\(portText.prefix(10))' is not 1–65535"
                )
            }
            self.port = port
        } else {
            self.port = isTLS ? 443 : 80
        }
        self.target = path
    }

    /// The `Host` header value.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? h : "\(h):\(port)"
    }

    public var description: String { "\(isTLS ? "https" : "http")://\(hostHeader)\(target)" }
}
