import QueryCore

/// Receives events of a stream that passed its filter.
protocol EventConsumer: AnyObject {
    func consume(_ event: Event, engine: StreamEngine)
}

/// How a registered filter is indexed: the first conjunct of the form `field = constant` or
/// `field IN (constants)` (non-null constants) gives the field and values, and the rest of the
/// conjunction is the residual to check on the candidates the index finds.
struct FilterIndexing {
    /// The indexed field, or `nil` when no conjunct qualifies (then `residual` is the whole filter).
    var column: Int?
    var values: [Value]
    var residual: CompiledExpression?

    init(_ filter: CompiledExpression?) {
        column = nil
        values = []
        residual = filter
        let conjuncts = filter?.conjuncts ?? []
        for (position, conjunct) in conjuncts.enumerated() {
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
                continue
            }
            // Equality on the indexed field is exact for `=`/`IN` with non-null constants, so the
            // rest of the conjunction is all that remains to check.
            var rest = conjuncts
            rest.remove(at: position)
            residual = rest.isEmpty ? nil : rest.dropFirst().reduce(rest[0]) { .and($0, $1) }
            return
        }
    }
}

/// The filters registered on one stream, indexed so an event is checked only against the filters
/// it can satisfy (Esper's filter index): equality conditions on a field go into a hash table per
/// field, keyed by the constant; other filters are checked one by one.
///
/// Entries are numbered in registration order; buckets and results are arrays of those numbers,
/// so matching an event allocates nothing and touches no reference counts. The table hashes a
/// value with ``ValueHash`` (one multiply for numbers, FNV-1a over text bytes) and probes linearly.
///
/// - Complexity: matching an event costs one hash lookup per indexed field plus the candidates
///   found, not the number of registered statements.
final class FilterIndex {
    /// The entries indexed under one field.
    struct Table {
        let column: Int
        /// Open addressing: a bucket number + 1 per slot, 0 for empty; the capacity is a power of 2.
        var slots: [Int32] = Array(repeating: 0, count: 16)
        var hashes: [Int] = []
        var keys: [Value] = []
        /// Entry numbers per bucket, ascending (registration order), as built.
        var lists: [[Int32]] = []
        /// The same, flat for matching: bucket `b` is `entries[start[b] ..< start[b] + count[b]]`.
        var entries: [Int32] = []
        var start: [Int32] = []
        var count: [Int32] = []
        /// Per bucket: whether some entry in it has a residual condition (none: taken whole).
        var conditional: [Bool] = []
        /// Text keys by representation: open addressing over the raw bits of each text key
        /// (bucket + 1 per slot, 0 empty), see ``findText(in:_:)``.
        var textSlots: [Int32] = []
        /// Per bucket, the raw bits of its key when it is text (else unused).
        var textBits: [TextBits] = []

        init(column: Int) { self.column = column }

        /// The raw representation of a string: two strings with equal bits hold the same inline
        /// short string (the bytes themselves, so equal text) or share storage (so equal text).
        /// The converse does not hold for long strings, which is why a miss falls back to the
        /// content hash.
        struct TextBits: Equatable {
            var low: UInt64
            var high: UInt64

            @inline(__always)
            init(_ s: String) { (low, high) = unsafeBitCast(s, to: (UInt64, UInt64).self) }

            init(low: UInt64, high: UInt64) {
                self.low = low
                self.high = high
            }

            @inline(__always)
            var slotHash: Int {
                let m = ((low &* 0x9E37_79B9_7F4A_7C15) ^ high) &* 0xBF58_476D_1CE4_E5B9
                return Int(truncatingIfNeeded: m ^ (m >> 32))
            }
        }

        /// The bucket whose key has exactly `text`'s representation, if any: no byte is hashed or
        /// compared. Short strings (up to 15 UTF-8 bytes) are stored inline, so an event's text
        /// equal to a short key is always found here; a miss is not proof of absence (a long or
        /// differently stored equal string), so callers then use ``find(in:_:hash:)``.
        @inline(__always)
        static func findText(in table: UnsafePointer<Table>, _ text: String) -> Int? {
            let count = table.pointee.textSlots.count
            if count == 0 { return nil }
            let bits = TextBits(text)
            let mask = count - 1
            var i = bits.slotHash & mask
            while true {
                let s = Int(table.pointee.textSlots[i])
                if s == 0 { return nil }
                if table.pointee.textBits[s - 1] == bits { return s - 1 }
                i = (i + 1) & mask
            }
        }

        /// Rebuilds ``textSlots`` for the text keys (after buckets were added).
        private mutating func indexTextKeys() {
            var texts: [Int] = []
            textBits = keys.map { key in
                if case .text(let s) = key { return TextBits(s) }
                return TextBits(low: 0, high: 0)
            }
            for b in keys.indices { if case .text = keys[b] { texts.append(b) } }
            guard !texts.isEmpty else {
                textSlots = []
                return
            }
            var capacity = 16
            while capacity < texts.count * 2 { capacity *= 2 }
            textSlots = Array(repeating: 0, count: capacity)
            for b in texts {
                var i = textBits[b].slotHash & (capacity - 1)
                while textSlots[i] != 0 { i = (i + 1) & (capacity - 1) }
                textSlots[i] = Int32(b + 1)
            }
        }

        /// The bucket holding `value` (whose hash is `hash`), if any.
        @inline(__always)
        func find(_ value: Value, hash: Int) -> Int? {
            let mask = slots.count - 1
            var i = hash & mask
            while true {
                let s = Int(slots[i])
                if s == 0 { return nil }
                if hashes[s - 1] == hash && ValueHash.equal(keys[s - 1], value) { return s - 1 }
                i = (i + 1) & mask
            }
        }

        /// ``find(_:hash:)`` on the table at `table`, reading its arrays in place (calling a method
        /// on a table reached through a pointer copies the table, retaining each of its arrays).
        @inline(__always)
        static func find(in table: UnsafePointer<Table>, _ value: Value, hash: Int) -> Int? {
            let mask = table.pointee.slots.count - 1
            var i = hash & mask
            while true {
                let s = Int(table.pointee.slots[i])
                if s == 0 { return nil }
                if table.pointee.hashes[s - 1] == hash && ValueHash.equal(table.pointee.keys[s - 1], value) { return s - 1 }
                i = (i + 1) & mask
            }
        }

        /// Adds `entries` (ascending entry numbers) under their values.
        mutating func add(_ added: [(entry: Int32, value: Value, conditional: Bool)]) {
            for (entry, value, isConditional) in added {
                let hash = ValueHash.of(value)
                if let b = find(value, hash: hash) {
                    if lists[b].last != entry { lists[b].append(entry) }
                    conditional[b] = conditional[b] || isConditional
                    continue
                }
                if (keys.count + 1) * 2 > slots.count { grow() }
                // A text key in its canonical form: short text inline, so events' equal short
                // text has the same representation (``findText(in:_:)``).
                if case .text(let text) = value {
                    keys.append(.text(String(decoding: Array(text.utf8), as: UTF8.self)))
                } else {
                    keys.append(value)
                }
                hashes.append(hash)
                lists.append([entry])
                conditional.append(isConditional)
                place(bucket: keys.count - 1)
            }
            indexTextKeys()
            entries = lists.flatMap { $0 }
            start = []
            count = []
            var at: Int32 = 0
            for list in lists {
                start.append(at)
                count.append(Int32(list.count))
                at += Int32(list.count)
            }
        }

        private mutating func place(bucket: Int) {
            let mask = slots.count - 1
            var i = hashes[bucket] & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Int32(bucket + 1)
        }

        private mutating func grow() {
            slots = Array(repeating: 0, count: slots.count * 2)
            for b in keys.indices { place(bucket: b) }
        }
    }

    /// Everything the index holds, behind a pointer the index owns so the per-event path pays no
    /// dynamic exclusivity checks (the index is confined to its engine's task, and no access
    /// below calls out while it lasts). The per-event data is in flat arrays of plain values, so
    /// matching retains nothing.
    struct Storage {
        /// The registered consumers, in registration order (an entry's number is its position).
        var consumers: [any EventConsumer] = []
        /// The same, unowned, for delivering events without reference counting.
        var targets: [Target] = []
        /// The filters as registered, to rebuild the index after a removal.
        var filters: [CompiledExpression?] = []
        /// The `field op integer` conjuncts of every entry's residual condition: entry `e`'s are
        /// `integerTests[testStart[e] ..< testStart[e] + testCount[e]]`.
        var integerTests: [EventPredicate.IntegerTest] = []
        var testStart: [Int32] = []
        var testCount: [Int32] = []
        /// Per entry: the rest of its residual condition, if any.
        var otherResiduals: [EventPredicate?] = []
        var hasOtherResidual: [Bool] = []
        var unindexed: [Int32] = []
        var tables: [Table] = []
        /// How many filter conditions were evaluated so far.
        var evaluations = 0

        /// Registers filters, numbered after the existing ones in the given order.
        mutating func add(_ added: [(consumer: any EventConsumer, filter: CompiledExpression?)]) {
            var byTable: [Int: [(entry: Int32, value: Value, conditional: Bool)]] = [:]
            for (consumer, filter) in added {
                let entry = Int32(consumers.count)
                consumers.append(consumer)
                targets.append(Target(consumer: consumer))
                filters.append(filter)
                let indexing = FilterIndexing(filter)
                let residual = indexing.residual.map(EventPredicate.init)
                testStart.append(Int32(integerTests.count))
                testCount.append(Int32(residual?.integerTests.count ?? 0))
                integerTests += residual?.integerTests ?? []
                let other = residual.flatMap { $0.parts.isEmpty ? nil : $0 }
                otherResiduals.append(other)
                hasOtherResidual.append(other != nil)
                guard let column = indexing.column else {
                    unindexed.append(entry)
                    continue
                }
                var t = tables.firstIndex { $0.column == column }
                if t == nil {
                    tables.append(Table(column: column))
                    t = tables.count - 1
                }
                byTable[t!, default: []] += indexing.values.map { (entry, $0, residual != nil) }
            }
            for (t, entries) in byTable { tables[t].add(entries) }
        }

        /// Whether entry `entry`'s residual condition holds for `event`.
        @inline(__always)
        func passes(_ entry: Int, _ event: Event) -> Bool {
            var i = Int(testStart[entry])
            let end = i + Int(testCount[entry])
            while i < end {
                if !EventPredicate.holds(integerTests[i], event.values) { return false }
                i += 1
            }
            if hasOtherResidual[entry] { return otherResiduals[entry]!.otherPartsHold(event) }
            return true
        }

        mutating func matches(_ event: Event, into result: inout PlainBuffer<Int32>) {
            evaluations &+= collect(event, into: &result)
        }

        /// The entries whose filters accept `event`, in registration order, and how many filter
        /// conditions that took. (Non-mutating, and reading the tables in place through a buffer
        /// pointer: indexing `tables` while `self` is being mutated would copy a whole table, with
        /// a retain and a release of each of its arrays.)
        @inline(__always)
        func collect(_ event: Event, into result: inout PlainBuffer<Int32>) -> Int {
            result.removeAll()
            // Each list is in registration order; only results gathered from several lists need sorting.
            var lists = 0
            var evaluated = 0
            tables.withUnsafeBufferPointer { buffer in
                // Subscripting the pointer addresses a table in place (the buffer's subscript
                // would copy it).
                guard let tables = buffer.baseAddress else { return }
                for t in 0..<buffer.count {
                    let column = tables[t].column
                    guard column < event.values.count else { continue }
                    let value = event.values[column]
                    if value.isNull { continue }
                    let found: Int?
                    if case .text(let text) = value, let b = Table.findText(in: tables + t, text) {
                        found = b
                    } else {
                        found = Table.find(in: tables + t, value, hash: ValueHash.of(value))
                    }
                    guard let b = found else { continue }
                    lists += 1
                    let start = Int(tables[t].start[b]), count = Int(tables[t].count[b])
                    evaluated &+= count
                    if !tables[t].conditional[b] {
                        for i in start..<start + count { result.append(tables[t].entries[i]) }
                    } else {
                        for i in start..<start + count {
                            let entry = tables[t].entries[i]
                            if passes(Int(entry), event) { result.append(entry) }
                        }
                    }
                }
            }
            if !unindexed.isEmpty {
                evaluated &+= unindexed.count
                lists += 1
                for i in unindexed.indices where passes(Int(unindexed[i]), event) { result.append(unindexed[i]) }
            }
            if lists > 1 && result.count > 1 { result.sort() }
            return evaluated
        }
    }

    private let storage: UnsafeMutablePointer<Storage> = {
        let p = UnsafeMutablePointer<Storage>.allocate(capacity: 1)
        p.initialize(to: Storage())
        return p
    }()

    /// The entries matching the event being delivered (reused; see ``route(_:engine:)``).
    private let scratch: UnsafeMutablePointer<PlainBuffer<Int32>> = {
        let p = UnsafeMutablePointer<PlainBuffer<Int32>>.allocate(capacity: 1)
        p.initialize(to: PlainBuffer(capacity: 16))
        return p
    }()
    /// Whether ``scratch`` is in use (an event is being delivered).
    /// Unchecked at run time: only ``route(_:engine:)`` touches it, in instantaneous accesses on
    /// the engine's one task.
    @exclusivity(unchecked) private var delivering = false

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
        scratch.pointee.free()
        scratch.deinitialize(count: 1)
        scratch.deallocate()
    }

    /// The number of registered filters.
    var count: Int { storage.pointee.consumers.count }
    /// How many filter conditions were evaluated so far (to check that the index prunes).
    var evaluations: Int { storage.pointee.evaluations }

    func add(consumer: any EventConsumer, filter: CompiledExpression?) {
        storage.pointee.add([(consumer, filter)])
    }

    /// Removes the entries whose consumer satisfies `predicate`; the rest keep their order.
    func remove(where predicate: (any EventConsumer) -> Bool) {
        let old = storage.pointee
        var rebuilt = Storage()
        rebuilt.evaluations = old.evaluations
        rebuilt.add(zip(old.consumers, old.filters).filter { !predicate($0.0) }.map { ($0.0, $0.1) })
        storage.pointee = rebuilt
    }

    /// A registered consumer, unowned. Safety: `Storage.consumers` holds the same consumer
    /// strongly at the same position, and both arrays only change together (``add(consumer:filter:)``,
    /// ``remove(where:)``), never while events are delivered (consumers do not register or remove
    /// statements).
    struct Target {
        unowned(unsafe) let consumer: any EventConsumer
        /// The same consumer when it is one of the two common kinds, called directly (no
        /// protocol dispatch, and no retain for the call).
        let aggregating: Unmanaged<AggregatingInput>?
        let input: Unmanaged<StreamInput>?

        init(consumer: any EventConsumer) {
            self.consumer = consumer
            aggregating = (consumer as? AggregatingInput).map { Unmanaged.passUnretained($0) }
            input = (consumer as? StreamInput).map { Unmanaged.passUnretained($0) }
        }
    }

    /// Hands `event` to the consumers whose filters accept it, in registration order.
    @inline(__always)
    func route(_ event: Event, engine: StreamEngine) {
        if delivering {
            // Delivered from within a delivery: a buffer of its own.
            var own = PlainBuffer<Int32>(capacity: 16)
            storage.pointee.matches(event, into: &own)
            deliver(event, to: own, engine: engine)
            own.free()
            return
        }
        delivering = true
        storage.pointee.matches(event, into: &scratch.pointee)
        deliver(event, to: scratch.pointee, engine: engine)
        delivering = false
    }

    /// Hands `event` to the consumers of `entries`, in order.
    @inline(__always)
    private func deliver(_ event: Event, to entries: PlainBuffer<Int32>, engine: StreamEngine) {
        for i in 0..<entries.count {
            // The target is used without a retain: the index holds the consumer strongly.
            let target = storage.pointee.targets[Int(entries[i])]
            if let aggregating = target.aggregating {
                aggregating._withUnsafeGuaranteedRef { $0.consume(event, engine: engine) }
            } else if let input = target.input {
                input._withUnsafeGuaranteedRef { $0.consume(event, engine: engine) }
            } else {
                target.consumer.consume(event, engine: engine)
            }
        }
    }

    /// The consumer of entry `entry`.
    @inline(__always)
    func consumer(_ entry: Int32) -> any EventConsumer { storage.pointee.consumers[Int(entry)] }

    /// The entries whose filters accept `event`, in registration order (tests).
    func matches(_ event: Event, into result: inout [Int32]) {
        var found = PlainBuffer<Int32>(capacity: 16)
        storage.pointee.matches(event, into: &found)
        result = (0..<found.count).map { found[$0] }
        found.free()
    }
}

/// A hash of a ``Value`` consistent with its equality (`1`, `1.0` and `true` hash alike): the bits
/// of numbers times a constant, FNV-1a over the bytes of text. Cheaper than `Hasher` for the one
/// key of an index lookup.
enum ValueHash {
    @inline(__always)
    static func of(_ v: Value) -> Int {
        switch v {
        case .null: return 0x1F3D
        case .integer(let i): return Int(truncatingIfNeeded: i) &* 0x9E37_79B9
        case .boolean(let b): return (b ? 1 : 0) &* 0x9E37_79B9
        case .real(let d):
            if let i = Value.exactInteger(d) { return Int(truncatingIfNeeded: i) &* 0x9E37_79B9 }
            return d.isNaN ? 0x7FF8 : Int(truncatingIfNeeded: d.bitPattern)
        case .text(let s): return text(s)
        }
    }

    /// Whether two values are equal (`Value.compare(a, b) == 0`); two texts go straight to their
    /// byte counts and bytes.
    @inline(__always)
    static func equal(_ a: Value, _ b: Value) -> Bool {
        if case .text(let x) = a, case .text(let y) = b {
            return x.utf8.count == y.utf8.count && Value.compareText(x, y) == 0
        }
        return Value.compare(a, b) == 0
    }

    static func text(_ s: String) -> Int {
        var s = s
        let h = s.withUTF8 { bytes in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
            return h
        }
        // Mix the high bits down: the table masks the low ones.
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
