import NIOCore
import NIOPosix
import NIOSSL
import QueryCore
public import QuerySQL
import Synchronization

/// One long-lived client connection to a node: many queries and query-manager requests in
/// flight at once (each answered under its own id), and topic subscriptions whose triggers
/// arrive on the same connection.
///
/// Get one with ``QueryClient/withSession(_:)``; it is closed when that closure returns.
/// Requests fail with `.unavailable` once the connection is gone and with `.timeout` after
/// ``QueryClient/Configuration/queryTimeout``.
public final class QuerySession: Sendable {
    /// The node this session is connected to.
    public let endpoint: Endpoint
    /// Triggers a subscription holds for a slow consumer before dropping the oldest (gaps then
    /// show in ``QuerySQL/Trigger/sequence``).
    public static let subscriptionBuffer = 1024

    private let outgoing: AsyncStream<TransportFrame>.Continuation
    private let timeout: Duration
    private let state = Mutex(State())

    private enum Reply: Sendable {
        case frame(TransportFrame)
        case failure(QueryError)
    }

    private struct State {
        var nextID: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Reply, Never>] = [:]
        var subscriptions: [UInt64: AsyncThrowingStream<Trigger, any Error>.Continuation] = [:]
        var closed: QueryError?
    }

    init(endpoint: Endpoint, outgoing: AsyncStream<TransportFrame>.Continuation, timeout: Duration) {
        self.endpoint = endpoint
        self.outgoing = outgoing
        self.timeout = timeout
    }

    // MARK: Requests

    /// Asks a SQL query.
    ///
    /// - Parameters:
    ///   - sql: The query.
    ///   - node: The node to ask within the process, if it hosts several.
    /// - Throws: ``QueryCore/QueryError``: the node's error (a `.redirect` is not followed here),
    ///   `.timeout`, `.unavailable` when the connection is lost.
    public func query(_ sql: String, node: NodeID? = nil) async throws(QueryError) -> QueryAnswer {
        let id = nextID()
        switch try await exchange(.query(id: id, node: node, sql: sql), id: id) {
        case .answer(_, let answer): return try answer.get()
        case let other: throw QueryError(.decodingFailed, "expected an answer, got a \(other.kind) frame")
        }
    }

    /// Sends a request to the node's query manager, acting as `principal`.
    ///
    /// Over mutual TLS the node takes the principal from this client's certificate: leave
    /// `principal` out (`nil`) to act as whoever the certificate names; naming another is refused.
    /// Over plain TCP the node trusts the name given, and a request must give one.
    ///
    /// - Throws: ``QueryCore/QueryError``: the manager's error (positioned for a bad statement,
    ///   `.permissionDenied` for a refused subscription or publish, or a principal the client
    ///   certificate does not name), `.unsupported` if the node hosts no manager, `.timeout`,
    ///   `.unavailable`.
    public func manage(_ request: ManagerRequest, as principal: Principal? = nil) async throws(QueryError)
        -> ManagerResponse
    {
        if case .subscribe = request {
            throw QueryError(.invalidArgument, "use subscribe(_:as:capacity:) to subscribe")
        }
        let id = nextID()
        return try await managed(.manage(id: id, principal: principal?.name ?? "", request), id: id)
    }

    /// Registers a persistent query and returns its topic.
    public func register(
        _ statement: String, kind: ManagerRequest.StatementKind = .stream, subscribers: AccessList = .only([]),
        as principal: Principal? = nil
    ) async throws(QueryError) -> TopicHandle {
        let response = try await manage(
            .registerStatement(text: statement, kind: kind, subscribers: subscribers), as: principal)
        guard case .topic(let topic) = response else {
            throw QueryError(.decodingFailed, "register answered \(response) instead of a topic")
        }
        return topic
    }

    /// Publishes events to a metric; returns how many triggers they caused.
    @discardableResult
    public func publish(
        _ stream: String, events: [[String: Value]], at time: Instant? = nil, as principal: Principal? = nil
    ) async throws(QueryError) -> Int {
        let response = try await manage(.publish(stream: stream, events: events, time: time), as: principal)
        guard case .published(let triggers) = response else {
            throw QueryError(.decodingFailed, "publish answered \(response)")
        }
        return triggers
    }

    /// Subscribes to a topic; the triggers arrive on the returned sequence, which ends when the
    /// topic is unregistered (or the node's queue for this subscriber overflowed under the
    /// `.disconnect` policy) and throws `.unavailable` if the connection is lost.
    ///
    /// - Parameters:
    ///   - topic: The topic (from ``register(_:kind:subscribers:as:)`` or a listing).
    ///   - principal: Who subscribes (`nil`: whoever this client's TLS certificate names); the
    ///     topic's rights must allow it.
    ///   - capacity: The node-side queue for this subscriber (default the manager's).
    /// - Throws: ``QueryCore/QueryError`` `.permissionDenied` when refused, `.invalidArgument` for
    ///   an unknown topic.
    public func subscribe(
        _ topic: TopicHandle, as principal: Principal? = nil, capacity: Int? = nil
    ) async throws(QueryError) -> AsyncThrowingStream<Trigger, any Error> {
        let id = nextID()
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: Trigger.self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(Self.subscriptionBuffer))
        let closed: QueryError? = state.withLock { state in
            if state.closed == nil { state.subscriptions[id] = continuation }
            return state.closed
        }
        if let closed { throw closed }
        do throws(QueryError) {
            _ = try await managed(
                .manage(id: id, principal: principal?.name ?? "", .subscribe(topic: topic.name, capacity: capacity)),
                id: id)
        } catch {
            _ = state.withLock { $0.subscriptions.removeValue(forKey: id) }
            continuation.finish(throwing: error)
            throw error
        }
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination, let self else { return }
            // The consumer stopped iterating: tell the node.
            let removed = self.state.withLock { $0.subscriptions.removeValue(forKey: id) } != nil
            if removed {
                self.outgoing.yield(
                    .manage(id: self.nextID(), principal: principal?.name ?? "", .unsubscribe(subscription: id)))
            }
        }
        return stream
    }

    // MARK: Plumbing

    private func nextID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    private func managed(_ frame: TransportFrame, id: UInt64) async throws(QueryError) -> ManagerResponse {
        switch try await exchange(frame, id: id) {
        case .managed(_, let result): return try result.get()
        case let other: throw QueryError(.decodingFailed, "expected a manager answer, got a \(other.kind) frame")
        }
    }

    /// Sends `frame` and waits for the frame answering `id`, at most the timeout.
    private func exchange(_ frame: TransportFrame, id: UInt64) async throws(QueryError) -> TransportFrame {
        let timeout = self.timeout
        let reply: Reply = await withTaskGroup(of: Reply?.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Reply, Never>) in
                        let closed: QueryError? = self.state.withLock { state in
                            if state.closed == nil { state.waiters[id] = continuation }
                            return state.closed
                        }
                        if let closed {
                            continuation.resume(returning: .failure(closed))
                        } else {
                            self.outgoing.yield(frame)
                        }
                    }
                } onCancel: {
                    self.resolve(id, .failure(QueryError(.cancelled, "request cancelled by its caller")))
                }
            }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return nil }
                self.resolve(id, .failure(QueryError(.timeout, "no answer within \(timeout)")))
                return nil
            }
            var result: Reply = .failure(QueryError(.cancelled, "request cancelled"))
            for await outcome in group {
                if let outcome {
                    result = outcome
                    group.cancelAll()
                }
            }
            return result
        }
        switch reply {
        case .frame(let frame): return frame
        case .failure(let error): throw error
        }
    }

    private func resolve(_ id: UInt64, _ reply: Reply) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume(returning: reply)
    }

    /// Routes one frame from the node.
    /// - Throws: `.decodingFailed` for a frame a node never sends to a client.
    func dispatch(_ frame: TransportFrame) throws(QueryError) {
        switch frame {
        case .answer(let id, _), .managed(let id, _):
            resolve(id, .frame(frame))
        case .trigger(let subscription, let trigger):
            let continuation = state.withLock { $0.subscriptions[subscription] }
            continuation?.yield(trigger)
        case .subscriptionEnded(let subscription, _):
            let continuation = state.withLock { $0.subscriptions.removeValue(forKey: subscription) }
            continuation?.finish()
        case .hello, .ping:
            break
        case .message, .query, .manage:
            throw QueryError(.decodingFailed, "unexpected \(frame.kind) frame from \(endpoint)")
        }
    }

    /// Fails every waiting request and subscription with `error`; later requests fail at once.
    func close(_ error: QueryError) {
        let (waiters, subscriptions) = state.withLock { state in
            if state.closed == nil { state.closed = error }
            defer {
                state.waiters = [:]
                state.subscriptions = [:]
            }
            return (Array(state.waiters.values), Array(state.subscriptions.values))
        }
        outgoing.finish()
        for waiter in waiters { waiter.resume(returning: .failure(error)) }
        for subscription in subscriptions { subscription.finish(throwing: error) }
    }
}

extension QueryClient {
    /// Opens one connection (to the first endpoint that accepts it, in order), runs `body` with a
    /// ``QuerySession`` over it, and closes it when `body` returns or throws.
    ///
    /// - Throws: ``QueryCore/QueryError`` `.unavailable` if no endpoint accepts a connection;
    ///   whatever `body` throws.
    public func withSession<Result: Sendable>(
        _ body: (QuerySession) async throws -> Result
    ) async throws -> Result {
        var failures: [String] = []
        for endpoint in endpoints {
            let connection: NIOAsyncChannel<TransportFrame, TransportFrame>
            do {
                connection = try await connect(endpoint)
            } catch {
                failures.append("\(endpoint): \(error)")
                continue
            }
            return try await run(connection, endpoint: endpoint, body)
        }
        throw QueryError(.unavailable, "no node accepted a connection (\(failures.joined(separator: "; ")))")
    }

    private func run<Result: Sendable>(
        _ connection: NIOAsyncChannel<TransportFrame, TransportFrame>, endpoint: Endpoint,
        _ body: (QuerySession) async throws -> Result
    ) async throws -> Result {
        try await connection.executeThenClose { inbound, outbound in
            let (frames, outgoing) = AsyncStream.makeStream(of: TransportFrame.self)
            let session = QuerySession(endpoint: endpoint, outgoing: outgoing, timeout: configuration.queryTimeout)
            outgoing.yield(.hello(TransportFrame.Hello(party: .client, nodes: [])))
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await frame in frames { try await outbound.write(frame) }
                }
                group.addTask {
                    var reason = QueryError(.unavailable, "connection to \(endpoint) closed")
                    do {
                        for try await frame in inbound { try session.dispatch(frame) }
                    } catch let error as QueryError {
                        reason = error
                    } catch {
                        reason = QueryError(.unavailable, "connection to \(endpoint) failed: \(error)")
                    }
                    session.close(reason)
                }
                let result: Result
                do {
                    result = try await body(session)
                } catch {
                    session.close(QueryError(.cancelled, "session ended"))
                    group.cancelAll()
                    throw error
                }
                session.close(QueryError(.cancelled, "session ended"))
                group.cancelAll()
                return result
            }
        }
    }
}
