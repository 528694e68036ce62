public import QueryCore

/// Who may post events to an ``EventPushServer``.
///
/// - ``none``: anyone who can reach the port (a trusted network only).
/// - ``bearerTokens(_:)``: a request must carry `Authorization: Bearer <token>` with one of the
///   tokens; each token may be limited to some streams. A request without a valid token is
///   answered `401`, one with a token that may not publish to a stream in it `403` (nothing of
///   that request is published). Tokens are compared in constant time.
public enum PushAuthentication: Sendable, Hashable {
    /// No authentication.
    case none
    /// Bearer tokens, each with the streams it may publish to.
    case bearerTokens([PushToken])

    /// Checks a request's `Authorization` header.
    ///
    /// - Parameter authorization: The header's value, if present.
    /// - Returns: The token presented (`nil` under ``none``).
    /// - Throws: ``PushAuthenticationFailure`` saying why the request is not authenticated.
    func authenticate(_ authorization: String?) throws(PushAuthenticationFailure) -> PushToken? {
        guard case .bearerTokens(let tokens) = self else { return nil }
        guard let authorization else {
            throw PushAuthenticationFailure("missing 'Authorization: Bearer <token>' header")
        }
        let parts = authorization.split { $0 == " " || $0 == "\t" }
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw PushAuthenticationFailure("the Authorization header must be 'Bearer <token>'")
        }
        let presented = Array(parts[1].utf8)
        // Every token is compared, whatever matched before, so the time taken does not tell how
        // many configured tokens there are before the right one.
        var match: PushToken?
        for token in tokens where PushToken.constantTimeEquals(presented, token.secretBytes) {
            match = token
        }
        guard let match else { throw PushAuthenticationFailure("unknown bearer token") }
        return match
    }
}

/// A bearer token for an ``EventPushServer`` and the streams it may publish to.
public struct PushToken: Sendable, Hashable {
    /// A name for logs and error messages (never the secret).
    public let name: String
    /// The streams (lower-cased; matched case-insensitively) the token may publish to; `nil`
    /// means every stream.
    public let streams: Set<String>?
    /// The secret's UTF-8 bytes, as sent after `Bearer `.
    fileprivate let secretBytes: [UInt8]

    /// Creates a token.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` for an empty secret or one with
    ///   spaces or control characters (which no `Authorization` header could carry).
    public init(name: String, secret: String, streams: Set<String>? = nil) throws(QueryError) {
        guard !secret.isEmpty else {
            throw QueryError(.invalidArgument, "push token '\(name)' has an empty secret")
        }
        guard secret.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw QueryError(.invalidArgument, "push token '\(name)': the secret has spaces or control characters")
        }
        self.name = name
        self.secretBytes = Array(secret.utf8)
        self.streams = streams.map { Set($0.map { $0.lowercased() }) }
    }

    /// Whether the token may publish to `stream`.
    public func allows(stream: String) -> Bool {
        streams?.contains(stream.lowercased()) ?? true
    }

    /// Compares `presented` with `secret` in time that depends only on `presented`'s length (the
    /// caller's own) and not on where the first difference is: no early exit.
    static func constantTimeEquals(_ presented: [UInt8], _ secret: [UInt8]) -> Bool {
        precondition(!secret.isEmpty, "a token secret is never empty")
        var difference = UInt(bitPattern: presented.count ^ secret.count)
        for (index, byte) in presented.enumerated() {
            difference |= UInt(byte ^ secret[index % secret.count])
        }
        return difference == 0
    }
}

/// Why a push request is not authenticated (answered `401`).
struct PushAuthenticationFailure: Error, Sendable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
