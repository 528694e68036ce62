/// "Send me full copies": the receiver could not apply a delta (its held version is not the
/// delta's base), so the sender forgets what it believed acknowledged and answers at once with an
/// update of full copies for the same generation.
public struct ResyncRequest: Sendable, Hashable {
    /// The generation of the update that could not be applied fully; the rest of that update's
    /// entry for the table counts as acknowledged.
    public var generation: UInt64
    /// The table.
    public var table: TableName
    /// The origins to resend in full, sorted; empty means every origin of the table.
    public var origins: [NodeID]

    /// Creates a resync request.
    public init(generation: UInt64, table: TableName, origins: [NodeID]) {
        self.generation = generation
        self.table = table
        self.origins = origins.sorted()
    }
}
