import NIOCore
import NIOHTTP1

/// One request on a client connection and the promise its response fulfils.
struct HTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]
    /// The largest response body accepted.
    var responseLimit: Int
    var promise: EventLoopPromise<HTTPExchangeResult>
}

/// A complete response, and whether the connection may carry another request.
struct HTTPExchangeResult: Sendable {
    var response: HTTPResponse
    var keepAlive: Bool
}

/// Why an exchange failed inside the connection.
enum HTTPExchangeFailure: Error, Sendable {
    /// The connection closed (or failed, for `reason`) before any of the response arrived;
    /// `written` says whether the request may have reached the server (the connection was open
    /// when it was written).
    case closedBeforeResponse(written: Bool, reason: String?)
    /// The connection closed (or failed, for `reason`) in the middle of the response.
    case closedMidResponse(reason: String?)
    /// The response body went over the limit (the connection is closed).
    case bodyTooLarge(limit: Int)
    /// The server sent something no request asked for.
    case unexpectedResponse
    /// A request was written while another was in flight (a bug in the caller).
    case busy
}

extension HTTPExchangeFailure: CustomStringConvertible {
    var description: String {
        switch self {
        case .closedBeforeResponse(_, let reason):
            "the connection closed before the response" + (reason.map { " (\($0))" } ?? "")
        case .closedMidResponse(let reason):
            "the connection closed before the response was complete" + (reason.map { " (\($0))" } ?? "")
        case .bodyTooLarge(let limit):
            "response body over \(limit) bytes"
        case .unexpectedResponse:
            "the server sent a response no request asked for"
        case .busy:
            "a request was sent on a connection with one in flight"
        }
    }
}

/// Runs request/response exchanges one after the other on a kept-alive HTTP/1.1 client
/// connection: a write of an ``HTTPExchange`` sends the request, and the response (collected whole,
/// up to its limit) fulfils the exchange's promise. The connection is closed when the server asks
/// for it (`Connection: close`, HTTP/1.0), on a protocol error, an over-limit body, or when it has
/// been idle (an `IdleStateHandler` event with no request in flight).
final class HTTPExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    /// Can transition: idle → waiting → receiving → idle, and from any state to closed.
    private enum State {
        /// No request in flight; the connection may take one.
        case idle
        /// A request was written (`written`: while the connection was open); no response yet.
        case waiting(HTTPExchange, written: Bool)
        /// The response head arrived; its body is being collected.
        case receiving(HTTPExchange, HTTPResponse, keepAlive: Bool)
        /// Closed or failed: every later request fails.
        case closed
        /// Parked while a received body chunk is appended in place (never observed).
        case modifying
    }

    private var state = State.idle

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        switch state {
        case .idle:
            break
        case .closed:
            exchange.promise.fail(HTTPExchangeFailure.closedBeforeResponse(written: false, reason: nil))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        case .modifying:
            preconditionFailure("HTTPExchangeHandler observed in its modifying state")
        case .waiting, .receiving:
            exchange.promise.fail(HTTPExchangeFailure.busy)
            promise?.fail(HTTPExchangeFailure.busy)
            return
        }
        state = .waiting(exchange, written: context.channel.isActive)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if !exchange.body.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: exchange.body)))),
                promise: nil
            )
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case .waiting(let exchange, _) = state else { return unexpected(context: context) }
            // 1xx heads (100 Continue) precede the real one; a request without `Expect` gets none,
            // but a server may send them anyway.
            guard head.status.code >= 200 || head.status.code == 101 else { return }
            let response = HTTPResponse(
                status: Int(head.status.code),
                headers: head.headers.map { (name: $0.name, value: $0.value) }
            )
            state = .receiving(exchange, response, keepAlive: head.isKeepAlive)
        case .body(let buffer):
            guard case .receiving(let exchange, var response, let keepAlive) = state else {
                return unexpected(context: context)
            }
            guard response.body.count + buffer.readableBytes <= exchange.responseLimit else {
                fail(HTTPExchangeFailure.bodyTooLarge(limit: exchange.responseLimit), context: context)
                return
            }
            state = .modifying  // the state lets go of the body, so the append does not copy it
            response.body.append(contentsOf: buffer.readableBytesView)
            state = .receiving(exchange, response, keepAlive: keepAlive)
        case .end:
            guard case .receiving(let exchange, let response, let keepAlive) = state else {
                return unexpected(context: context)
            }
            state = keepAlive ? .idle : .closed
            exchange.promise.succeed(HTTPExchangeResult(response: response, keepAlive: keepAlive))
            if !keepAlive { context.close(promise: nil) }
        }
    }

    /// A response part no request asked for (ignored once the connection is closed).
    private func unexpected(context: ChannelHandlerContext) {
        if case .closed = state { return }
        fail(HTTPExchangeFailure.unexpectedResponse, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failInFlight(reason: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failInFlight(reason: "\(error)")
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if case .idle = state { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Fails the exchange in flight, if any, because the connection closed or failed.
    private func failInFlight(reason: String?) {
        switch state {
        case .waiting(let exchange, let written):
            exchange.promise.fail(HTTPExchangeFailure.closedBeforeResponse(written: written, reason: reason))
        case .receiving(let exchange, _, _):
            exchange.promise.fail(HTTPExchangeFailure.closedMidResponse(reason: reason))
        case .idle, .closed:
            break
        case .modifying:
            preconditionFailure("HTTPExchangeHandler observed in its modifying state")
        }
        state = .closed
    }

    /// Fails the exchange in flight, if any, with `error` and closes the connection.
    private func fail(_ error: HTTPExchangeFailure, context: ChannelHandlerContext) {
        switch state {
        case .waiting(let exchange, _), .receiving(let exchange, _, _):
            exchange.promise.fail(error)
        case .idle, .closed:
            break
        case .modifying:
            preconditionFailure("HTTPExchangeHandler observed in its modifying state")
        }
        state = .closed
        context.close(promise: nil)
    }
}
