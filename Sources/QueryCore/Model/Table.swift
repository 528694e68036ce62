/// A table as a receiver holds it: for each origin (publishing machine), the newest version of
/// that origin's rows as one immutable ``Segment``.
///
/// Replacing one origin's rows replaces one segment; nothing else is copied. The *version rule*
/// holds for every mutation: per origin, only a newer version is applied, an older or equal one is
/// rejected and counted in ``staleRejections``.
///
/// Each origin gets a dense integer *slot* the first time it is held, and keeps it while it comes
/// and goes (until the table compacts its slots, which changes ``slotLayout``), so the roles keep
/// their per-origin bookkeeping in arrays indexed by slot and look an origin's name up once per
/// update instead of once per step.
public struct Table: Sendable {
    /// One origin's contribution.
    public struct Slice: Sendable {
        /// The origin's version of these rows.
        public var version: Version
        /// The rows.
        public var segment: Segment
        /// When the origin published this version.
        public var publishedAt: Instant

        /// Creates a slice.
        public init(version: Version, segment: Segment, publishedAt: Instant) {
            self.version = version
            self.segment = segment
            self.publishedAt = publishedAt
        }
    }

    /// What happened to an offered copy.
    public enum ReplaceOutcome: Sendable, Hashable {
        /// The copy was newer and is now held.
        case applied
        /// The copy was not newer than the held version, which is kept.
        case rejectedStale(held: Version)
    }

    /// The table's name.
    public let name: TableName
    /// The schema every slice follows.
    public internal(set) var schema: Schema
    /// How many copies were rejected by the version rule.
    public internal(set) var staleRejections = 0

    /// Origin → slot, for every origin held since the slots were last compacted (held or not now).
    private(set) var slotIndex: [NodeID: Int] = [:]
    /// Slot → origin.
    private(set) var slotOrigins: [NodeID] = []
    /// Slot → the origin's slice, `nil` while the origin is not held.
    private(set) var slotSlices: [Slice?] = []
    /// How many slots hold a slice.
    private(set) var heldCount = 0
    /// Identifies the assignment of origins to slots: it changes whenever slots are compacted, so
    /// bookkeeping indexed by slot can tell that it refers to an older assignment.
    private(set) var slotLayout: UInt64

    /// An empty table.
    public init(name: TableName, schema: Schema) {
        self.init(name: name, schema: schema, slotLayout: 0)
    }

    /// An empty table whose slot layouts start at `slotLayout` (a store gives each table it
    /// creates a distinct range, so a table created again under the same name is not mistaken
    /// for the one before).
    init(name: TableName, schema: Schema, slotLayout: UInt64) {
        self.name = name
        self.schema = schema
        self.slotLayout = slotLayout
    }

    /// Each origin's newest slice (a view; the rows are not copied).
    public var slices: Slices { Slices(table: self) }

    /// The total number of rows over all origins.
    public var rowCount: Int {
        var total = 0
        for slice in slotSlices { total += slice?.segment.rowCount ?? 0 }
        return total
    }

    /// The origins in a stable (sorted) order; iterate this, not ``slices``, where order is visible.
    public var sortedOrigins: [NodeID] { sortedSlots().map { slotOrigins[$0] } }

    /// The slots of the held origins, in the origins' sorted order.
    func sortedSlots() -> [Int] {
        var slots: [Int] = []
        slots.reserveCapacity(heldCount)
        for slot in slotSlices.indices where slotSlices[slot] != nil { slots.append(slot) }
        slots.sort { slotOrigins[$0] < slotOrigins[$1] }
        return slots
    }

    /// The version held for `origin`, if any.
    public func version(of origin: NodeID) -> Version? { slices[origin]?.version }

    /// The slot of `origin`, if it has one (it may not be held now).
    func slot(of origin: NodeID) -> Int? { slotIndex[origin] }

    /// The number of slots (held or not).
    var slotCount: Int { slotOrigins.count }

    /// The origin of `slot`.
    func origin(at slot: Int) -> NodeID { slotOrigins[slot] }

    /// The slice held in `slot`, if any.
    func slice(at slot: Int) -> Slice? { slotSlices[slot] }

    /// The version held in `slot`, if any (read in place: the slice is not copied).
    func version(at slot: Int) -> Version? { slotSlices[slot]?.version }

    /// The slot of `origin`, assigned now if it has none.
    mutating func assignSlot(_ origin: NodeID) -> Int {
        if let slot = slotIndex[origin] { return slot }
        let slot = slotOrigins.count
        slotIndex[origin] = slot
        slotOrigins.append(origin)
        slotSlices.append(nil)
        return slot
    }

    /// Sets (or clears) the slice in `slot`, keeping the count of held slots.
    mutating func setSlice(_ slice: Slice?, at slot: Int) {
        switch (slotSlices[slot] != nil, slice != nil) {
        case (false, true): heldCount += 1
        case (true, false): heldCount -= 1
        default: break
        }
        slotSlices[slot] = slice
    }

    /// Applies a delta (checked against the table's schema) to the rows held in `slot` (which
    /// holds a slice) in their own storage: the slice is not copied, so its buffers are written in
    /// place when nobody else holds them. The rows are unchanged on error.
    ///
    /// - Throws: ``QueryError`` as ``Segment/applyDeltaInPlace(upserts:deletes:strategy:)`` does.
    mutating func applyDeltaInPlace(at slot: Int, upserts: Segment, deletes: Segment) throws(QueryError) -> InsertedRows {
        try slotSlices[slot]!.segment.applyDeltaInPlace(upserts: upserts, deletes: deletes)
    }

    /// Sets the version and publish time of the slice in `slot` (which holds one).
    mutating func setVersion(_ version: Version, publishedAt: Instant, at slot: Int) {
        slotSlices[slot]!.version = version
        slotSlices[slot]!.publishedAt = publishedAt
    }

    /// Offers `segment` as `origin`'s rows at `version`, applied only if newer than what is held.
    ///
    /// - Throws: ``QueryError`` `.schemaMismatch` if the segment's schema differs from the table's
    ///   (unless the table has no slices yet or this origin is its only one, which adopts the new schema).
    /// - Complexity: O(1) (the segment is shared, not copied).
    @discardableResult
    public mutating func replace(
        origin: NodeID, version: Version, segment: Segment, publishedAt: Instant
    ) throws(QueryError) -> ReplaceOutcome {
        if let slot = slotIndex[origin] {
            return try replace(slot: slot, version: version, segment: segment, publishedAt: publishedAt)
        }
        try adoptSchema(of: segment, origin: origin, holdsOrigin: false)
        let slot = assignSlot(origin)
        setSlice(Slice(version: version, segment: segment, publishedAt: publishedAt), at: slot)
        return .applied
    }

    /// ``replace(origin:version:segment:publishedAt:)`` for the origin in `slot`.
    @discardableResult
    mutating func replace(
        slot: Int, version: Version, segment: Segment, publishedAt: Instant
    ) throws(QueryError) -> ReplaceOutcome {
        let held = slotSlices[slot]
        if let held, held.version >= version {
            staleRejections += 1
            return .rejectedStale(held: held.version)
        }
        try adoptSchema(of: segment, origin: slotOrigins[slot], holdsOrigin: held != nil)
        setSlice(Slice(version: version, segment: segment, publishedAt: publishedAt), at: slot)
        return .applied
    }

    /// Checks `segment`'s schema against the table's, adopting it when the table holds nothing
    /// else (no slices, or only `origin`'s, as `holdsOrigin` says).
    private mutating func adoptSchema(of segment: Segment, origin: NodeID, holdsOrigin: Bool) throws(QueryError) {
        guard segment.schema != schema else { return }
        let onlySelf = heldCount == 0 || (heldCount == 1 && holdsOrigin)
        guard onlySelf else {
            throw QueryError(
                .schemaMismatch,
                "table '\(name)' from \(origin): schema \(segment.schema) differs from \(schema)")
        }
        schema = segment.schema
    }

    /// Empties the table (keeping its slots) and gives it `schema`, as a new table would be.
    mutating func startOver(schema: Schema) {
        for slot in slotSlices.indices { slotSlices[slot] = nil }
        heldCount = 0
        staleRejections = 0
        self.schema = schema
    }

    /// Removes `origin`'s rows (a dropped machine); returns what was held.
    @discardableResult
    public mutating func removeOrigin(_ origin: NodeID) -> Slice? {
        guard let slot = slotIndex[origin] else { return nil }
        let held = removeSlice(at: slot)
        if slotsAreSparse { _ = compactSlots() }
        return held
    }

    /// Removes the slice in `slot`, keeping the slot; returns what was held.
    @discardableResult
    mutating func removeSlice(at slot: Int) -> Slice? {
        let held = slotSlices[slot]
        if held != nil { setSlice(nil, at: slot) }
        return held
    }

    /// Whether so many slots are unused that they should be compacted (origins that came and went
    /// must not grow the table without bound).
    var slotsAreSparse: Bool {
        let unused = slotOrigins.count - heldCount
        return unused > 64 && unused > heldCount
    }

    /// Gives the held origins new slots `0..<count` in their current order, forgets the others'
    /// slots, and changes ``slotLayout``; returns each new slot's old slot.
    mutating func compactSlots() -> [Int] {
        var oldSlots: [Int] = []
        oldSlots.reserveCapacity(heldCount)
        for slot in slotSlices.indices where slotSlices[slot] != nil { oldSlots.append(slot) }
        slotOrigins = oldSlots.map { slotOrigins[$0] }
        slotSlices = oldSlots.map { slotSlices[$0] }
        slotIndex = [:]
        slotIndex.reserveCapacity(slotOrigins.count)
        for (slot, origin) in slotOrigins.enumerated() { slotIndex[origin] = slot }
        slotLayout &+= 1
        return oldSlots
    }

    /// Every origin's rows concatenated in ``sortedOrigins`` order: one segment to scan.
    ///
    /// - Complexity: O(total rows); cache the result per table version where it is used repeatedly.
    public func consolidated() -> Segment {
        let segments = sortedSlots().map { slotSlices[$0]!.segment }
        if segments.isEmpty { return .empty(schema) }
        // Every slice has the table's schema (enforced by `replace`).
        return (try? Segment.concatenating(segments, schema: schema)) ?? .empty(schema)
    }

    /// The oldest and newest publish times over all slices, or `nil` for an empty table.
    public var publishTimeRange: ClosedRange<Instant>? {
        var range: ClosedRange<Instant>?
        for case let slice? in slotSlices {
            if let current = range {
                range = min(current.lowerBound, slice.publishedAt)...max(current.upperBound, slice.publishedAt)
            } else {
                range = slice.publishedAt...slice.publishedAt
            }
        }
        return range
    }
}

extension Table {
    /// The origins' slices of a ``Table``, looked up by origin (a read-only view of the table).
    public struct Slices: Sendable {
        let table: Table

        /// `origin`'s slice, if held.
        public subscript(origin: NodeID) -> Slice? {
            guard let slot = table.slotIndex[origin] else { return nil }
            return table.slotSlices[slot]
        }

        /// How many origins are held.
        public var count: Int { table.heldCount }

        /// Whether no origin is held.
        public var isEmpty: Bool { table.heldCount == 0 }

        /// The held origins, in slot order (not sorted: use ``Table/sortedOrigins`` where order is visible).
        public var keys: [NodeID] {
            table.slotSlices.indices.compactMap { table.slotSlices[$0] == nil ? nil : table.slotOrigins[$0] }
        }

        /// The held slices, in slot order.
        public var values: [Slice] { table.slotSlices.compactMap { $0 } }
    }
}
