/// The tables a sender sends a receiver for one generation.
///
/// A sender sends one update per generation to every requester with live interest, even when no
/// table changed (an update without copies still says "I am alive and done with this generation").
/// A reply to a ``ResyncRequest`` is an extra update for the same generation.
public struct GenerationUpdate: Sendable {
    /// The generation the update belongs to.
    public var generation: Generation
    /// One entry per requested table the sender has, sorted by table.
    public var entries: [TableEntry]
    /// The sender's sequence number: every update a role sends has a larger one than the update it
    /// sent before (``UpdateSequencer`` stamps it as the update leaves the role), so a receiver can
    /// tell a duplicated or reordered update from a newer one of the same generation
    /// (``SenderSequences``). `0`: not stamped (built by hand); always applied.
    public var sequence: UInt64
    /// Tables the receiver asked for (with live interest) that the sender does not publish, sorted.
    /// An edge names them in each regular update, so its proxy tells a machine without the table
    /// from one whose request was lost (which lists it neither here nor among the entries).
    public var notPublished: [TableName]

    /// Creates an update.
    public init(generation: Generation, entries: [TableEntry], sequence: UInt64 = 0, notPublished: [TableName] = []) {
        self.generation = generation
        self.entries = entries.count < 2 ? entries : entries.sorted { $0.table < $1.table }
        self.sequence = sequence
        self.notPublished = notPublished.count < 2 ? notPublished : notPublished.sorted()
    }
}
