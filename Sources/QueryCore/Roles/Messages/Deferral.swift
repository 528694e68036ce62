/// A TLA hands a child the entries of deferred tables it received from one cluster's proxy, as
/// they arrived; the child applies (decodes and combines) them instead of the TLA.
public struct Deferral: Sendable {
    /// The generation of the proxy's update.
    public var generation: Generation
    /// The cluster the entries came from.
    public var cluster: NodeID
    /// The proxy that sent them (resync requests go back to it through the TLA).
    public var proxy: NodeID
    /// The deferred tables' entries.
    public var entries: [TableEntry]
    /// The proxy's ``GenerationUpdate/sequence`` for the update the entries came in: the child
    /// ignores a relayed entry older than one it applied from the same proxy.
    public var sequence: UInt64

    /// Creates a deferral.
    public init(generation: Generation, cluster: NodeID, proxy: NodeID, entries: [TableEntry], sequence: UInt64 = 0) {
        self.generation = generation
        self.cluster = cluster
        self.proxy = proxy
        self.entries = entries
        self.sequence = sequence
    }
}
