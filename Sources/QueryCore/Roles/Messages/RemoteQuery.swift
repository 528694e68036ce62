/// A query sent to a SQL node over the network (client ↔ SQL node); answered with a ``QueryResponse``.
public struct RemoteQuery: Sendable, Hashable {
    /// The query; its id is echoed in the response.
    public var request: QueryRequest

    /// Creates a remote query.
    public init(_ request: QueryRequest) { self.request = request }
}
