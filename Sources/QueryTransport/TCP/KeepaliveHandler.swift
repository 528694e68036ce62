import NIOCore
import QueryCore

/// Keeps a connection's liveness in the pipeline: writes a `.ping` when nothing was written for
/// the keepalive interval, and fails the connection (the peer then counts as down) when nothing
/// was read for the idle timeout. Inbound pings are swallowed here; everything else passes on to
/// the async side.
///
/// It reads time from the event loop (`EventLoop.now`), so tests drive it with
/// `EmbeddedEventLoop.advanceTime(by:)`.
final class KeepaliveHandler: ChannelDuplexHandler {
    typealias InboundIn = TransportFrame
    typealias InboundOut = TransportFrame
    typealias OutboundIn = TransportFrame
    typealias OutboundOut = TransportFrame

    private let keepaliveInterval: TimeAmount
    private let idleTimeout: TimeAmount
    private var lastRead: NIODeadline = .uptimeNanoseconds(0)
    private var lastWrite: NIODeadline = .uptimeNanoseconds(0)
    private var ticker: RepeatedTask?

    init(keepaliveInterval: TimeAmount, idleTimeout: TimeAmount) {
        self.keepaliveInterval = keepaliveInterval
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = context.eventLoop.now
        if case .ping = unwrapInboundIn(data) { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastWrite = context.eventLoop.now
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard ticker == nil else { return }
        let now = context.eventLoop.now
        lastRead = now
        lastWrite = now
        let tick = TimeAmount.nanoseconds(max(1_000_000, min(keepaliveInterval, idleTimeout).nanoseconds / 4))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let (handler, context) = loopBound.value
            handler.check(context)
        }
    }

    private func stop() {
        ticker?.cancel()
        ticker = nil
    }

    private func check(_ context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        if now - lastRead >= idleTimeout {
            stop()
            let seconds = Double(idleTimeout.nanoseconds) / 1e9
            context.fireErrorCaught(QueryError(.timeout, "peer silent for \(seconds) s (idle timeout)"))
            context.close(promise: nil)
        } else if now - lastWrite >= keepaliveInterval {
            lastWrite = now
            context.writeAndFlush(wrapOutboundOut(.ping), promise: nil)
        }
    }
}
