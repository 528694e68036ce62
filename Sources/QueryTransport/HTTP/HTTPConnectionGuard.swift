import NIOCore
import NIOHTTP1

/// Limits how long an HTTP/1.1 server connection may sit without progress, so idle or stalled
/// clients cannot hold connections (and file descriptors) forever.
///
/// Sits after NIO's HTTP server codec and follows each exchange:
/// - **idle** (accepted, or its last response written): closed after `idleTimeout` without a new
///   request head;
/// - **reading** (a request head arrived, its end not yet): closed after `requestTimeout` counted
///   from the head — a client that trickles a request (slowloris) loses its connection;
/// - **answering** (the request is complete, the response not yet written): never timed out here;
///   a slow handler is the server's own business.
///
/// Time comes from the event loop (`EventLoop.now`), so tests drive it with
/// `EmbeddedEventLoop.advanceTime(by:)`.
final class HTTPConnectionGuard: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Where the connection is in its current exchange.
    enum Phase: Equatable {
        case idle
        case reading
        case answering
    }

    /// Why a connection was closed by the guard.
    enum Closure: Equatable {
        case idle
        case slowRequest
    }

    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private let onClose: @Sendable (Closure) -> Void
    private(set) var phase = Phase.idle
    private var deadline: Scheduled<Void>?

    /// - Parameter onClose: told once when the guard closes the connection (for counters).
    init(idleTimeout: TimeAmount, requestTimeout: TimeAmount, onClose: @escaping @Sendable (Closure) -> Void = { _ in }) {
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, after: idleTimeout, closure: .idle) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil, phase == .idle { arm(context, after: idleTimeout, closure: .idle) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .reading
            arm(context, after: requestTimeout, closure: .slowRequest)
        case .body:
            break
        case .end:
            phase = .answering
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // A response can also end an exchange early (413 before the body ends): the
            // connection is then idle only once the request is complete too.
            if phase == .answering {
                phase = .idle
                arm(context, after: idleTimeout, closure: .idle)
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after timeout: TimeAmount, closure: Closure) {
        disarm()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.deadline = nil
            handler.onClose(closure)
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
