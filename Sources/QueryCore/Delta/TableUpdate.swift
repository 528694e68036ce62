/// Copies of one table from several origins that share one schema, as a proxy or aggregator sends
/// them upstream: the schema travels once, not once per origin.
public struct TableUpdate: Sendable {
    /// One origin's copy.
    public struct Entry: Sendable {
        /// The origin the rows belong to.
        public var origin: NodeID
        /// When the origin published this version.
        public var publishedAt: Instant
        /// The copy.
        public var copy: TableCopy

        /// Creates an entry.
        public init(origin: NodeID, publishedAt: Instant, copy: TableCopy) {
            self.origin = origin
            self.publishedAt = publishedAt
            self.copy = copy
        }
    }

    /// The table.
    public let table: TableName
    /// The schema of every entry.
    public let schema: Schema
    /// The copies, in order.
    public let entries: [Entry]

    /// Creates an update, checking every entry.
    ///
    /// - Throws: ``QueryError`` `.schemaMismatch` naming the origin whose copy has another schema, or
    ///   `.invalidArgument` for a malformed delta (see ``TableCopy/validate()``).
    public init(table: TableName, schema: Schema, entries: [Entry]) throws(QueryError) {
        for entry in entries {
            guard entry.copy.schema == schema else {
                throw QueryError(
                    .schemaMismatch,
                    "table '\(table)' from \(entry.origin): schema \(entry.copy.schema) differs from \(schema)"
                )
            }
            try entry.copy.validate()
        }
        self.init(unchecked: table, schema: schema, entries: entries)
    }

    /// An update whose entries were checked (decoders).
    package init(unchecked table: TableName, schema: Schema, entries: [Entry]) {
        self.table = table
        self.schema = schema
        self.entries = entries
    }
}

extension Table {
    /// Offers every entry of `update` in order (see ``apply(_:origin:publishedAt:)``).
    ///
    /// - Returns: One outcome per entry, in order; entries that failed with an error are reported in
    ///   `errors` instead and leave their origin unchanged.
    /// - Complexity: The sum of the entries' apply costs.
    public mutating func apply(_ update: TableUpdate) -> (outcomes: [ApplyOutcome?], errors: [(NodeID, QueryError)]) {
        var outcomes: [ApplyOutcome?] = []
        outcomes.reserveCapacity(update.entries.count)
        var errors: [(NodeID, QueryError)] = []
        for entry in update.entries {
            do {
                outcomes.append(try apply(entry.copy, origin: entry.origin, publishedAt: entry.publishedAt))
            } catch {
                outcomes.append(nil)
                errors.append((entry.origin, error))
            }
        }
        return (outcomes, errors)
    }
}
