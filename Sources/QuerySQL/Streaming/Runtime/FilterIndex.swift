import QueryCore

/// Receives events of a stream that passed its filter.
protocol EventConsumer: AnyObject {
    func consume(_ event: Event, engine: StreamEngine)
}

/// One registered filter: who gets the event and the full condition to check.
final class FilterEntry {
    let consumer: any EventConsumer
    let filter: CompiledExpression?
    /// The filter without the conjunct the index already checked.
    let residual: CompiledExpression?
    /// ``residual`` compiled for the per-event path.
    let residualPredicate: EventPredicate?
    /// Registration order, so delivery order does not depend on hashing.
    let order: UInt64
    /// The equality the entry is indexed under, if any: field and values.
    let indexColumn: Int?
    let indexValues: [Value]

    init(consumer: any EventConsumer, filter: CompiledExpression?, order: UInt64) {
        self.consumer = consumer
        self.filter = filter
        self.order = order
        var column: Int? = nil
        var values: [Value] = []
        var indexed: Int? = nil
        let conjuncts = filter?.conjuncts ?? []
        // Index the first conjunct of the form `field = constant` or `field IN (constants)`.
        for (position, conjunct) in conjuncts.enumerated() {
            indexed = position
            switch conjunct {
            case .compare(.equal, .field(0, let c), .constant(let v)) where !v.isNull,
                .compare(.equal, .constant(let v), .field(0, let c)) where !v.isNull:
                column = c
                values = [v]
            case .inList(.field(0, let c), let list, negated: false)
            where list.allSatisfy({ if case .constant(let v) = $0 { return !v.isNull } else { return false } }):
                column = c
                values = list.compactMap { if case .constant(let v) = $0 { return v } else { return nil } }
            default:
                indexed = nil
                continue
            }
            break
        }
        self.indexColumn = column
        self.indexValues = values
        if column != nil, let indexed {
            // Equality on the indexed field is exact for `=`/`IN` with non-null constants, so the
            // rest of the conjunction is all that remains to check.
            var rest = conjuncts
            rest.remove(at: indexed)
            self.residual = rest.isEmpty ? nil : rest.dropFirst().reduce(rest[0]) { .and($0, $1) }
        } else {
            self.residual = filter
        }
        self.residualPredicate = residual.map(EventPredicate.init)
    }
}

/// The filters registered on one stream, indexed so an event is checked only against the filters
/// it can satisfy (Esper's filter index): equality conditions on a field go into a hash table per
/// field, keyed by the constant; other filters are checked one by one.
///
/// - Complexity: matching an event costs one hash lookup per indexed field plus the candidates
///   found, not the number of registered statements.
final class FilterIndex {
    /// A field and a constant it must equal.
    struct Key: Hashable {
        var column: Int
        var value: Value

        /// One word for the hasher (a cheap hash of the value), not the value's bytes.
        func hash(into hasher: inout Hasher) {
            hasher.combine(column &* 0x9E37_79B9 ^ HashedGroupKey.hash(value))
        }
    }

    private var unindexed: [FilterEntry] = []
    /// The entries indexed under one key, in registration order.
    struct Bucket {
        var entries: [FilterEntry] = []
        /// How many of them have a residual condition (none: the bucket is taken whole).
        var conditional = 0

        mutating func append(_ entry: FilterEntry) {
            entries.append(entry)
            if entry.residualPredicate != nil { conditional += 1 }
        }
    }

    private var byKey: [Key: Bucket] = [:]
    /// The fields some entry is indexed on.
    private var columns: [Int] = []
    private(set) var count = 0
    /// How many filter conditions were evaluated so far (to check that the index prunes).
    private(set) var evaluations = 0

    func add(_ entry: FilterEntry) {
        count += 1
        if let column = entry.indexColumn {
            if !columns.contains(column) { columns.append(column) }
            for v in Set(entry.indexValues) { byKey[Key(column: column, value: v), default: Bucket()].append(entry) }
        } else {
            unindexed.append(entry)
        }
    }

    func remove(where predicate: (FilterEntry) -> Bool) {
        var removed = Set<ObjectIdentifier>()
        unindexed.removeAll { e in
            if predicate(e) { removed.insert(ObjectIdentifier(e)); return true }
            return false
        }
        for key in Array(byKey.keys) {
            var kept = Bucket()
            for e in byKey[key]!.entries {
                if predicate(e) { removed.insert(ObjectIdentifier(e)) } else { kept.append(e) }
            }
            byKey[key] = kept.entries.isEmpty ? nil : kept
        }
        count -= removed.count
        columns = Array(Set(byKey.keys.map(\.column))).sorted()
    }

    /// The entries whose filters accept `event`, in registration order.
    func matches(_ event: Event, into result: inout [FilterEntry]) {
        result.removeAll(keepingCapacity: true)
        // Each list is in registration order; only results gathered from several lists need sorting.
        var lists = 0
        for column in columns where column < event.values.count {
            if let bucket = byKey[Key(column: column, value: event.values[column])] {
                evaluations &+= bucket.entries.count
                lists += 1
                if bucket.conditional == 0 {
                    result.append(contentsOf: bucket.entries)
                } else {
                    for entry in bucket.entries where entry.residualPredicate?.isTrue(event) ?? true { result.append(entry) }
                }
            }
        }
        if !unindexed.isEmpty {
            evaluations &+= unindexed.count
            lists += 1
            for entry in unindexed where entry.residualPredicate?.isTrue(event) ?? true { result.append(entry) }
        }
        if lists > 1 && result.count > 1 { result.sort { $0.order < $1.order } }
    }
}
