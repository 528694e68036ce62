/// "I applied your update for this generation": the sender now sends later deltas against what that
/// update carried.
///
/// Origins that could not be applied (a delta whose base the receiver does not hold) are not part
/// of an acknowledgement; the receiver asks for them with a ``ResyncRequest``.
public struct TableAck: Sendable, Hashable {
    /// The acknowledged generation number.
    public var generation: UInt64
    /// The tables of that update that were applied, sorted.
    public var tables: [TableName]

    /// Creates an acknowledgement.
    public init(generation: UInt64, tables: [TableName]) {
        self.generation = generation
        self.tables = tables.sorted()
    }
}
