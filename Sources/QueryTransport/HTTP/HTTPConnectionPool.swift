import NIOCore
import NIOSSL
import Synchronization

/// The idle kept-alive connections of an ``HTTP1Client``, per scheme, host and port.
///
/// Bounded: at most `maximumIdlePerHost` idle connections per key are kept (the most recently
/// used are preferred; a connection returned to a full list is closed), and an idle connection
/// closes itself after the client's idle timeout (``HTTPExchangeHandler``). A connection the server
/// closes leaves the pool as soon as NIO sees the close; one that closes unseen is found dead on
/// its next use, which the client retries on a new connection where that is safe. Idle
/// connections are closed by ``closeAll()`` and when the pool is deallocated.
final class HTTPConnectionPool: Sendable {
    /// Where a connection goes.
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        var isTLS: Bool

        init(_ url: HTTPURL) {
            host = url.host
            port = url.port
            isTLS = url.isTLS
        }
    }

    let maximumIdlePerHost: Int
    private let state = Mutex(State())
    /// One TLS context for every `https` connection (loading the system roots once).
    private let tlsContext = Mutex<NIOSSLContext?>(nil)

    private struct State {
        var idle: [Key: [any Channel]] = [:]
        var opened = 0
    }

    init(maximumIdlePerHost: Int) {
        self.maximumIdlePerHost = max(0, maximumIdlePerHost)
    }

    deinit {
        for channel in state.withLock({ $0.idle.values.flatMap { $0 } }) { channel.close(promise: nil) }
    }

    /// Connections opened so far (for tests and statistics).
    var connectionsOpened: Int { state.withLock { $0.opened } }

    /// The idle connections to `key`, most recently used last.
    func idleConnections(to key: Key) -> [any Channel] { state.withLock { $0.idle[key] ?? [] } }

    /// Takes the most recently used idle connection to `key` that is still open.
    func checkout(_ key: Key) -> (any Channel)? {
        state.withLock { state in
            while let channel = state.idle[key]?.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    /// Returns a connection after a complete exchange; closes it if the pool for `key` is full.
    func checkin(_ channel: any Channel, key: Key) {
        let kept: Bool = state.withLock { state in
            guard channel.isActive, state.idle[key, default: []].count < maximumIdlePerHost else { return false }
            state.idle[key, default: []].append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    /// Records a new connection, which leaves the idle list by itself when it closes.
    func opened(_ channel: any Channel, key: Key) {
        state.withLock { $0.opened += 1 }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { state in
                state.idle[key]?.removeAll { $0 === channel }
                if state.idle[key]?.isEmpty == true { state.idle[key] = nil }
            }
        }
    }

    /// Closes every idle connection; later requests open new ones.
    func closeAll() {
        let channels = state.withLock { state in
            defer { state.idle = [:] }
            return state.idle.values.flatMap { $0 }
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// The shared client TLS context (system trust roots), made on first use.
    func clientTLSContext() throws -> NIOSSLContext {
        try tlsContext.withLock { context in
            if let context { return context }
            let made = try NIOSSLContext(configuration: .makeClientConfiguration())
            context = made
            return made
        }
    }
}
