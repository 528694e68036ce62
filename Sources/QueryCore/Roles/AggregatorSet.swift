/// A named group of TLAs and SQL nodes serving one purpose or user group: a node talks only to
/// peers of its set.
public struct AggregatorSet: Sendable, Hashable {
    /// The set's name.
    public var name: String
    /// The TLAs and SQL nodes of the set.
    public var members: Set<NodeID>

    /// Creates an aggregator set.
    public init(name: String, members: Set<NodeID>) {
        self.name = name
        self.members = members
    }
}
