/// The identity of a node in the collection tree: a publishing machine (an *origin* of rows), a
/// proxy, an aggregator or a SQL node. By convention `edge:<cluster>.<machine>`, `proxy:<cluster>.<i>`,
/// `tla:<i>`, `tla-child:<i>.<j>`, `sql:<i>`; any non-empty string up to 255 UTF-8 bytes is valid.
public struct NodeID: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The node's name.
    public let rawValue: String
    /// The name's hash, computed once: node names key the roles' dictionaries on every hot path,
    /// and hashing the string on every lookup was a large share of their time.
    private let nameHash: Int

    /// Creates a node identity from outside input.
    ///
    /// - Throws: ``QueryError`` with code `.invalidArgument` if the name is empty or too long.
    public init(validating name: String) throws(QueryError) {
        guard !name.isEmpty, name.utf8.count <= 255 else {
            throw QueryError(.invalidArgument, "invalid node id '\(name.prefix(40))': must be 1–255 bytes")
        }
        self.rawValue = name
        self.nameHash = name.hashValue
    }

    /// Creates a node identity from a string in code.
    public init(_ name: String) {
        precondition(!name.isEmpty && name.utf8.count <= 255, "invalid node id '\(name)'")
        self.rawValue = name
        self.nameHash = name.hashValue
    }

    public init(stringLiteral value: String) { self.init(value) }

    public var description: String { rawValue }

    public func hash(into hasher: inout Hasher) { hasher.combine(nameHash) }

    public static func == (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.nameHash == rhs.nameHash && lhs.rawValue == rhs.rawValue
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
}
