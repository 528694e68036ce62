import QueryCore

/// A hosted SQL node's newest generation and the tables it answers from, handed to
/// ``NodeRuntime/onNewGeneration(_:)`` observers (snapshot persistent queries, collection-tree
/// event sources).
public struct GenerationSnapshot: Sendable {
    /// The SQL node that applied the generation.
    public var node: NodeID
    /// The generation.
    public var generation: Generation
    /// Its tables and view definitions (a copy-on-write value: holding it costs nothing while the
    /// node moves on).
    public var catalog: SnapshotCatalog
}

/// A role that answers SQL from the newest generation's snapshot (``QueryCore/QueryNode``,
/// ``QueryCore/AggregatorQueryNode``).
public protocol SnapshotServing {
    /// The newest generation applied, if any.
    var servedGeneration: Generation? { get }
    /// The tables and views queries run against.
    var servedSnapshot: SnapshotCatalog { get }
}

extension QueryNode: SnapshotServing {
    public var servedGeneration: Generation? { generation }
    public var servedSnapshot: SnapshotCatalog { snapshot }
}

extension AggregatorQueryNode: SnapshotServing {
    public var servedGeneration: Generation? { queryNode.generation }
    public var servedSnapshot: SnapshotCatalog { queryNode.snapshot }
}
