/// Interest in tables: "include these tables in the updates you send me, for `lease` from now".
///
/// A requester refreshes its interest every generation; a sender forgets a requester's interest in
/// a table once its lease runs out, so interest that is no longer used fades out of the whole tree.
/// Interest travels out of turn (immediately, tier by tier); the data it asks for is only ever sent
/// in a *future* generation.
public struct TableRequest: Sendable, Hashable {
    /// The tables wanted, sorted.
    public var tables: [TableName]
    /// How long the interest lasts without a refresh.
    public var lease: Duration
    /// The requester holds nothing from this sender (it just started, restarted or failed over):
    /// the sender forgets what it believed the requester had acknowledged and sends full copies.
    public var reset: Bool
    /// The requester is a standby (a TLA's second proxy, say): keep the interest warm upstream and
    /// send heartbeats, but no table updates.
    public var standby: Bool

    /// Creates a request.
    public init(tables: [TableName], lease: Duration, reset: Bool = false, standby: Bool = false) {
        self.tables = tables.sorted()
        self.lease = lease
        self.reset = reset
        self.standby = standby
    }
}
