/// A TLA and a SQL node in one role, for small subnetworks: collects the clusters' tables and
/// answers SQL on the same machine.
///
/// It composes an ``Aggregator`` and a ``QueryNode`` rather than copying them: the SQL half's only
/// TLA is this node, and messages between the halves are delivered inside ``handle(_:now:)``
/// without touching the network. Queries (local or remote) go to the SQL half; everything else from
/// outside goes to the TLA half.
public struct AggregatorQueryNode: Role {
    public let id: NodeID
    /// The TLA half.
    public private(set) var aggregator: Aggregator
    /// The SQL half.
    public private(set) var queryNode: QueryNode

    /// Creates a combined node.
    ///
    /// - Parameters:
    ///   - aggregator: the TLA settings.
    ///   - query: the SQL settings; its TLA list is replaced by this node.
    ///   - evaluator: the SQL engine.
    public init(
        id: NodeID,
        aggregator: Aggregator.Configuration,
        query: QueryNode.Configuration,
        evaluator: any QueryEvaluator
    ) {
        self.id = id
        var query = query
        query.aggregators = [id]
        query.pinnedAggregators = nil
        query.aggregatorSet = nil
        var aggregatorConfiguration = aggregator
        aggregatorConfiguration.aggregatorSet?.members.insert(id)
        self.aggregator = Aggregator(id: id, configuration: aggregatorConfiguration)
        self.queryNode = QueryNode(id: id, configuration: query, evaluator: evaluator)
    }

    private enum Half { case aggregator, query }

    private static func half(of timer: TimerID) -> Half {
        timer == Aggregator.generationTimer || timer == Aggregator.deadlineTimer ? .aggregator : .query
    }

    public mutating func handle(_ input: RoleInput, now: Instant) -> [RoleAction] {
        var actions: [RoleAction] = []
        var queue: [(Half, RoleInput)] = []
        switch input {
        case .started, .peerUp, .peerDown:
            queue = [(.aggregator, input), (.query, input)]
        case .timerFired(let timer):
            queue = [(Self.half(of: timer), input)]
        case .query:
            queue = [(.query, input)]
        case .received(let message, _):
            if case .query = message { queue = [(.query, input)] } else { queue = [(.aggregator, input)] }
        case .publish:
            break
        }
        var index = 0
        while index < queue.count {
            let (half, next) = queue[index]
            index += 1
            let produced = half == .aggregator ? aggregator.handle(next, now: now) : queryNode.handle(next, now: now)
            for action in produced {
                if case .send(let message, let peer) = action, peer == id {
                    queue.append((half == .aggregator ? .query : .aggregator, .received(message, from: id)))
                } else {
                    actions.append(action)
                }
            }
        }
        return actions
    }
}
