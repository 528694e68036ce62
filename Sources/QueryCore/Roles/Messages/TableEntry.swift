/// One table inside a ``GenerationUpdate``: the origins whose rows changed since what the receiver
/// acknowledged, the origins whose rows vanished, and how complete the sender's table is.
///
/// Origins that did not change are not listed; the receiver keeps what it holds for them.
public struct TableEntry: Sendable {
    /// The table.
    public var table: TableName
    /// Changed origins, sorted by origin.
    public var copies: [OriginCopy]
    /// Origins whose rows vanished (a dropped machine or cluster, or a machine that stopped
    /// publishing the table), sorted.
    public var removed: [NodeID]
    /// The entry lists every origin the sender holds for this table (a reset or failover): the
    /// receiver removes every origin of the sender's scope that is not listed.
    public var replacesScope: Bool
    /// How complete the sender's table is.
    public var completeness: TableCompleteness

    /// Creates an entry.
    public init(
        table: TableName,
        copies: [OriginCopy],
        removed: [NodeID] = [],
        replacesScope: Bool = false,
        completeness: TableCompleteness
    ) {
        self.table = table
        self.copies = copies
        self.removed = removed
        self.replacesScope = replacesScope
        self.completeness = completeness
    }
}
