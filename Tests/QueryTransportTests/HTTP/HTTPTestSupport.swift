import QueryCore
import Synchronization

@testable import QueryTransport

/// A gate HTTP handlers wait at until the test opens it (a slow receiver, without sleeping).
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { s in
                if !s.open { s.waiters.append(continuation) }
                return s.open
            }
            if open { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Records the requests an ``HTTP1Server`` received.
final class RequestLog: Sendable {
    private let requests = Mutex<[HTTPRequest]>([])
    var all: [HTTPRequest] { requests.withLock { $0 } }
    var count: Int { requests.withLock { $0.count } }
    func append(_ request: HTTPRequest) { requests.withLock { $0.append(request) } }
}

/// Runs `server` for the duration of `body`, passing its port.
func withServer<T: Sendable>(
    _ server: HTTP1Server,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { server.stop() }
        guard let port = await server.listeningPort() else {
            throw QueryError(.unavailable, "the test server did not start")
        }
        let result = try await body(port)
        server.stop()
        try await group.waitForAll()
        return result
    }
}

/// The value of an integer field in a tiny JSON object such as `{"accepted": 3}`.
func jsonInteger(_ key: String, in text: String) -> Int? {
    guard let range = text.firstRange(of: "\"\(key)\": ") else { return nil }
    return Int(text[range.upperBound...].prefix { $0.isNumber })
}
