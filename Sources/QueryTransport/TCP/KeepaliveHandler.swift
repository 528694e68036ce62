import NIOCore
import QueryCore

/// Keeps a connection's liveness in the pipeline: answers `IdleStateHandler`'s events by writing a
/// `.ping` when nothing was written for the keepalive interval, and by failing the connection when
/// nothing was read for the idle timeout (the peer then counts as down). Inbound pings are
/// swallowed here; everything else passes on to the async side.
final class KeepaliveHandler: ChannelDuplexHandler {
    typealias InboundIn = TransportFrame
    typealias InboundOut = TransportFrame
    typealias OutboundIn = TransportFrame
    typealias OutboundOut = TransportFrame

    private let idleTimeout: TimeAmount

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .ping = unwrapInboundIn(data) { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event as? IdleStateHandler.IdleStateEvent {
        case .write?:
            context.writeAndFlush(wrapOutboundOut(.ping), promise: nil)
        case .read?:
            let seconds = Double(idleTimeout.nanoseconds) / 1e9
            context.fireErrorCaught(QueryError(.timeout, "peer silent for \(seconds) s (idle timeout)"))
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }
}
