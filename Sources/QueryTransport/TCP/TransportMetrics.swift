import CoreMetrics
import NIOCore
import QueryCore

/// The TCP transport's metrics (lower-case dotted labels).
struct TransportMetrics: Sendable {
    let bytesIn: Counter
    let bytesOut: Counter
    let framesIn: Counter
    let framesOut: Counter
    let connectionsOpened: Counter
    let connectionErrors: Counter
    let reconnectAttempts: Counter
    /// Manager requests refused before reaching the manager (principal mismatch, no certificate).
    let managerRequestsRefused: Counter
    let peers: Gauge
    let queuedFrames: Gauge
    private let drops: [SendOutcome.DropReason: Counter]

    init(factory: any MetricsFactory) {
        bytesIn = Counter(label: "query.transport.bytes_in", factory: factory)
        bytesOut = Counter(label: "query.transport.bytes_out", factory: factory)
        framesIn = Counter(label: "query.transport.frames_in", factory: factory)
        framesOut = Counter(label: "query.transport.frames_out", factory: factory)
        connectionsOpened = Counter(label: "query.transport.connections_opened", factory: factory)
        connectionErrors = Counter(label: "query.transport.connection_errors", factory: factory)
        reconnectAttempts = Counter(label: "query.transport.reconnect_attempts", factory: factory)
        managerRequestsRefused = Counter(label: "query.transport.manager_requests_refused", factory: factory)
        peers = Gauge(label: "query.transport.peers", factory: factory)
        queuedFrames = Gauge(label: "query.transport.queued_frames", factory: factory)
        var drops: [SendOutcome.DropReason: Counter] = [:]
        for reason in [SendOutcome.DropReason.unreachable, .queueFull, .tooLarge, .shuttingDown, .encodingFailed] {
            drops[reason] = Counter(
                label: "query.transport.dropped", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.drops = drops
    }

    func dropped(_ reason: SendOutcome.DropReason) {
        drops[reason]?.increment()
    }
}

/// Counts raw bytes in and out at the head of a pipeline.
final class ByteCountingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: TransportMetrics

    init(metrics: TransportMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        metrics.bytesIn.increment(by: Int64(unwrapInboundIn(data).readableBytes))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        metrics.bytesOut.increment(by: Int64(unwrapOutboundIn(data).readableBytes))
        context.write(data, promise: promise)
    }
}
