import QueryCore
public import QuerySQL
import ServiceLifecycle
import Synchronization

/// Hosts a ``QuerySQL/QueryManager`` on a node: answers ``ManagerRequest``s from TCP clients
/// (through ``TCPTransport``), re-evaluates snapshot persistent queries on every new generation
/// (``generationArrived(_:at:)``), and moves the engine clock forward once a second so time
/// windows, patterns and output intervals fall due without events (``run()``).
///
/// Identity: ``TCPTransport`` decides who a request acts as before it gets here. With TLS it is
/// the principal the client certificate names (``CertificatePrincipals``), and a request claiming
/// another is refused; without TLS it is the principal the request names, which only a trusted
/// network makes true. The topic rights (``QuerySQL/TopicAccess``) then decide who may subscribe
/// and publish.
public final class QueryManagerService: Service, Sendable {
    /// The manager served.
    public let manager: QueryManager
    /// Evaluates snapshot queries over a generation's tables.
    let evaluator: any QueryEvaluator
    /// How often ``run()`` advances the engine clock.
    let tick: Duration

    /// Creates a service for `manager`.
    ///
    /// - Parameters:
    ///   - manager: The manager (shared with in-process users, if any).
    ///   - evaluator: The SQL engine snapshot queries run on.
    ///   - tick: How often the engine clock moves forward in ``run()``. Default 1 s.
    public init(manager: QueryManager = QueryManager(), evaluator: any QueryEvaluator, tick: Duration = .seconds(1)) {
        self.manager = manager
        self.evaluator = evaluator
        self.tick = tick
    }

    /// Answers one request other than `.subscribe`/`.unsubscribe`, which need a connection
    /// (``TCPTransport`` handles them with ``subscribe(topic:as:capacity:)``).
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - principal: Who is asking.
    ///   - now: The event time for publishes that carry none.
    /// - Returns: The response, or the manager's typed error (positioned for bad statements).
    public func handle(_ request: ManagerRequest, as principal: Principal, now: Instant) -> Result<
        ManagerResponse, QueryError
    > {
        do throws(QueryError) {
            switch request {
            case .registerMetric(let name, let schema, let publishers):
                try manager.registerMetric(name, schema: schema, publishers: publishers)
                return .success(.done)
            case .unregisterMetric(let name):
                try manager.unregisterMetric(name)
                return .success(.done)
            case .registerStatement(let text, let kind, let subscribers):
                var access = TopicAccess.owner(principal)
                if case .only(let names) = subscribers {
                    access.subscribers = .only(names.union([principal]))
                } else {
                    access.subscribers = .anyone
                }
                switch kind {
                case .stream:
                    return .success(.topic(try manager.registerStatement(text, owner: principal, access: access)))
                case .snapshot:
                    return .success(
                        .topic(
                            try manager.registerSnapshotQuery(
                                text, evaluator: evaluator, owner: principal, access: access)))
                }
            case .unregisterStatement(let topic):
                try manager.unregisterStatement(TopicHandle(name: topic), by: principal)
                return .success(.done)
            case .list:
                return .success(.listing(listing()))
            case .publish(let stream, let events, let time):
                var triggers = 0
                for (index, event) in events.enumerated() {
                    do throws(QueryError) {
                        triggers += try manager.publish(stream, fields: event, at: time ?? now, as: principal).count
                    } catch {
                        throw QueryError(
                            error.code, "event \(index + 1) of \(events.count): \(error.message)", at: error.location)
                    }
                }
                return .success(.published(triggers: triggers))
            case .subscribe, .unsubscribe:
                throw QueryError(.invalidArgument, "subscriptions need a client connection")
            }
        } catch {
            return .failure(error)
        }
    }

    /// The registered metrics and statements.
    public func listing() -> ManagerListing {
        ManagerListing(
            metrics: manager.metrics.map { ManagerListing.Metric(name: $0.name, schema: $0.schema) },
            statements: manager.statements.map { info in
                ManagerListing.Statement(
                    topic: info.topic, text: info.text, kind: info.isSnapshot ? .snapshot : .stream,
                    owners: info.owners, droppedTriggers: manager.droppedTriggers(on: info.topic))
            })
    }

    /// The SQL of every registered snapshot query (a node keeps the tables they read wanted).
    public var snapshotQueries: [String] {
        manager.statements.filter(\.isSnapshot).map(\.text)
    }

    /// Subscribes `principal` to `topic` through the manager's bounded subscriber queue (its
    /// capacity unless `capacity` is given, and its overflow policy; drops count on the topic).
    ///
    /// - Throws: ``QueryCore/QueryError`` `.invalidArgument` for an unknown topic,
    ///   `.permissionDenied` if `principal` may not subscribe.
    func subscribe(topic: String, as principal: Principal, capacity: Int?) throws(QueryError) -> RemoteSubscription {
        let triggers = try manager.subscribe(TopicHandle(name: topic), as: principal, capacity: capacity)
        return RemoteSubscription(triggers: triggers, stop: StopSignal())
    }

    /// Re-evaluates the snapshot queries against a new generation's tables and delivers their
    /// raise/update/clear triggers.
    @discardableResult
    public func generationArrived(_ catalog: any TableCatalog, at time: Instant) -> [Trigger] {
        manager.evaluateSnapshots(in: catalog, at: time)
    }

    /// Advances the engine clock to the wall clock every tick until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: self.tick) } catch { return }
                self.manager.advance(to: .wallClockNow())
            }
        }
    }
}

/// A TCP client's subscription: the manager's bounded subscriber queue, and the signal that
/// stops forwarding it when the client unsubscribes or leaves.
struct RemoteSubscription: Sendable {
    let triggers: TriggerSubscription
    let stop: StopSignal

    var topic: TopicHandle { triggers.topic }

    /// Stops forwarding; the manager drops the subscriber once its queue is gone.
    func cancel() { stop.fire() }
}

/// A one-shot signal a task can wait for.
final class StopSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Wakes every waiter, now and later.
    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once ``fire()`` was called, or the task is cancelled (which fires it).
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let fired = state.withLock { state in
                    if !state.fired { state.waiters.append(continuation) }
                    return state.fired
                }
                if fired { continuation.resume() }
            }
        } onCancel: {
            self.fire()
        }
    }
}
