import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import QueryCore
import Synchronization
import Testing

@testable import QueryTransport

/// ``HTTP1Server/Limits``: idle and slow connections are closed, connections past the limit are
/// answered 503. The timeouts are driven on an `EmbeddedEventLoop` (virtual time); the limit and
/// one idle timeout are checked on loopback by waiting for connections to close, not by sleeping.
@Suite struct HTTPServerLimitsTests {
    /// A channel with only the guard, connected so it is active; and the closures it reported.
    private func guarded(idle: Int64 = 10, request: Int64 = 5) throws -> (EmbeddedChannel, Closures) {
        let closures = Closures()
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.pipeline.syncOperations.addHandler(
            HTTPConnectionGuard(idleTimeout: .seconds(idle), requestTimeout: .seconds(request)) { reason in
                closures.append(reason)
            })
        return (channel, closures)
    }

    /// The closures a guard reported.
    final class Closures: Sendable {
        private let list = Mutex<[HTTPConnectionGuard.Closure]>([])
        var all: [HTTPConnectionGuard.Closure] { list.withLock { $0 } }
        func append(_ closure: HTTPConnectionGuard.Closure) { list.withLock { $0.append(closure) } }
    }

    private static let head = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/events"))

    @Test func anIdleConnectionClosesAfterTheIdleTimeoutNotBefore() throws {
        let (channel, closures) = try guarded()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(closures.all == [.idle])
    }

    @Test func aRequestTricklingInPastTheRequestTimeoutIsClosed() throws {
        let (channel, closures) = try guarded()
        channel.embeddedEventLoop.advanceTime(by: .seconds(8))
        try channel.writeInbound(Self.head)
        // Body bytes keep arriving, but the request as a whole is too slow.
        for _ in 0..<4 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "x")))
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(closures.all == [.slowRequest])
    }

    @Test func aSlowHandlerIsNotTimedOutAndTheIdleClockRestartsAfterTheResponse() throws {
        let (channel, closures) = try guarded()
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        // The handler takes far longer than either timeout.
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        // A second request inside the idle window keeps the connection.
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        #expect(closures.all == [.idle])
    }

    /// Opens a raw TCP connection to the server and returns everything it reads until the server
    /// closes it (or `until` is satisfied).
    private static func rawConnection(port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private static func readUntilClosed(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws -> String {
        try await channel.executeThenClose { inbound, _ in
            var text = ""
            for try await var buffer in inbound { text += buffer.readString(length: buffer.readableBytes) ?? "" }
            return text
        }
    }

    @Test func connectionsPastTheLimitAreAnswered503AndCounted() async throws {
        let server = HTTP1Server(
            listen: Endpoint(host: "127.0.0.1", port: 0),
            limits: .init(idleTimeout: .seconds(60), requestTimeout: .seconds(60), maximumConnections: 1)
        ) { _ in HTTPResponse(status: 200, contentType: "text/plain", text: "ok") }
        try await withServer(server) { port in
            let first = try await Self.rawConnection(port: port)
            // The first connection is admitted: a request on it is answered 200.
            try await first.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
                var iterator = inbound.makeAsyncIterator()
                let answer = try await iterator.next().map { String(buffer: $0) } ?? ""
                #expect(answer.hasPrefix("HTTP/1.1 200"))
                // While it stays open, a second connection is refused with a 503 and closed.
                let second = try await Self.rawConnection(port: port)
                let refused = try await Self.readUntilClosed(second)
                #expect(refused.hasPrefix("HTTP/1.1 503"), "got \(refused.debugDescription)")
                #expect(refused.contains("too many connections (limit 1)"))
                #expect(server.connectionsRefused == 1)
            }
            // Once the first has gone, a new connection is served again.
            var served = false
            for _ in 0..<100 where !served {
                let third = try await Self.rawConnection(port: port)
                let text = try await third.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    var text = ""
                    for try await var buffer in inbound { text += buffer.readString(length: buffer.readableBytes) ?? "" }
                    return text
                }
                // The server may not have noticed the first close yet: then this one is refused too.
                served = text.hasPrefix("HTTP/1.1 200")
            }
            #expect(served)
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosedByTheServer() async throws {
        let server = HTTP1Server(
            listen: Endpoint(host: "127.0.0.1", port: 0),
            limits: .init(idleTimeout: .milliseconds(200), requestTimeout: .seconds(60), maximumConnections: 8)
        ) { _ in HTTPResponse(status: 200, contentType: "text/plain", text: "ok") }
        try await withServer(server) { port in
            let connection = try await Self.rawConnection(port: port)
            // Nothing is sent: the server closes the connection by itself, and counts it.
            let text = try await Self.readUntilClosed(connection)
            #expect(text.isEmpty)
            #expect(server.connectionsTimedOut == 1)
        }
    }
}
