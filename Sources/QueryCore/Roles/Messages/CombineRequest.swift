/// A TLA asks a child for its deferred tables of one generation, combined over the live clusters;
/// the child answers with a ``GenerationUpdate`` (deltas against what the TLA acknowledged).
public struct CombineRequest: Sendable, Hashable {
    /// The generation to combine.
    public var generation: Generation
    /// Clusters currently dropped for silence (their rows must not be included), sorted.
    public var droppedClusters: [DroppedNode]
    /// The TLA holds nothing from the child (it restarted): send full copies.
    public var reset: Bool

    /// Creates a combine request.
    public init(generation: Generation, droppedClusters: [DroppedNode], reset: Bool = false) {
        self.generation = generation
        self.droppedClusters = droppedClusters.sorted()
        self.reset = reset
    }
}
