/// A TLA asks a child for its deferred tables of one generation, combined over the live clusters;
/// the child answers with a ``GenerationUpdate`` (deltas against what the TLA acknowledged).
public struct CombineRequest: Sendable, Hashable {
    /// The generation to combine.
    public var generation: Generation
    /// Clusters currently dropped for silence (their rows must not be included), sorted.
    public var droppedClusters: [DroppedNode]
    /// The TLA holds nothing from the child (it restarted): send full copies.
    public var reset: Bool
    /// The tables deferred to the child, sorted. The child answers with an entry for each, also
    /// for one it holds nothing of (after a restart): the TLA then lets go of the rows it held
    /// from the child for that table instead of serving them as current.
    public var tables: [TableName]
    /// Machines of live clusters the TLA aged out (their cluster fell silent, and they had been
    /// silent at its proxy for `dropAfter`), and since when, sorted: their rows must not be
    /// included and the clusters' figures name them as dropped (see ``TableCompleteness/agingOut(_:)``).
    public var droppedMachines: [DroppedNode]
    /// Per cluster, the newest generation of its updates the TLA relayed to this child so far,
    /// sorted by cluster. A relay that never arrived shows against it: the child, finding at its
    /// next combine request that it still has not received a generation this list named (a whole
    /// interval later, so a relay merely slower than the request does not count), asks for the
    /// cluster's tables in full at once, rather than when a later relay happens to reveal the gap.
    public var relayed: [RelayedGeneration]

    /// Creates a combine request.
    public init(
        generation: Generation, droppedClusters: [DroppedNode], reset: Bool = false, tables: [TableName] = [],
        droppedMachines: [DroppedNode] = [], relayed: [RelayedGeneration] = []
    ) {
        self.generation = generation
        self.droppedClusters = droppedClusters.sorted()
        self.reset = reset
        self.tables = tables.sorted()
        self.droppedMachines = droppedMachines.sorted()
        self.relayed = relayed.sorted()
    }
}

/// The newest generation of a cluster's updates a TLA relayed to a child (see ``CombineRequest/relayed``).
public struct RelayedGeneration: Sendable, Hashable, Comparable {
    /// The cluster.
    public var cluster: NodeID
    /// The generation.
    public var generation: UInt64

    /// Creates a record.
    public init(cluster: NodeID, generation: UInt64) {
        self.cluster = cluster
        self.generation = generation
    }

    public static func < (lhs: RelayedGeneration, rhs: RelayedGeneration) -> Bool {
        (lhs.cluster, lhs.generation) < (rhs.cluster, rhs.generation)
    }
}
