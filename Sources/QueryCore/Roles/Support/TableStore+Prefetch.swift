import CZlib

/// Fetching an entry's rows before applying it.
///
/// A TLA or SQL node applies an entry of a cluster's (or a fleet's) changed origins, each a delta of
/// a row or two against rows it last touched a generation ago: every delta and every held segment
/// is a dozen small buffers (the column array, then each column's values) that are no longer in the
/// caches. Applied one after another, each of those buffers is a miss the apply waits for. Two
/// passes run ahead of the apply (see ``Prefetcher``): the first asks for each copy's and each held
/// segment's column array, the second (those arrays having arrived) for the buffers they point to.
/// The misses then overlap instead of following one another.
///
/// The passes read the buffers' addresses from the values' bytes in place: copying a slice, a delta
/// or a column out would retain its buffers, an atomic write to the very lines being asked for,
/// which waits for them. They only hint the CPU (``swift_query_prefetch`` never faults) and change
/// nothing, so the apply that follows is the same with or without them.
extension TableStore {
    /// Fetches ahead of an apply loop over an entry's copies: while copy `i` is applied, the column
    /// arrays of copy `i + 2 × distance` and the buffers of copy `i + distance` are asked for. Far
    /// enough ahead for the lines to arrive, near enough for them to stay (a SQL node's entry lists
    /// tens of thousands of origins: fetching all of them first would evict the first ones before
    /// they are applied).
    struct Prefetcher {
        /// How many copies apart the two passes (and the apply) run.
        static let distance = 8
        private let copies: UnsafeBufferPointer<OriginCopy>
        private let columnCount: Int
        /// The slot hint as the apply will move it, moved ahead by the first pass.
        private var last: Int
        /// Copies whose column arrays were asked for, and whose buffers were.
        private var arraysDone = 0
        private var buffersDone = 0
        /// Per copy (`index % (2 × distance)`), the held and carried column arrays the first pass found.
        private var found = InlineArray<32, UnsafeRawPointer?>(repeating: nil)

        /// The sender's own origin and dense index, for its slot hint (see ``Stored/knownSlot(of:scope:sender:)``).
        private let scope: NodeID
        private let sender: Int?

        init(_ copies: UnsafeBufferPointer<OriginCopy>, in stored: UnsafePointer<Stored>, scope: NodeID, sender: Int?) {
            self.copies = copies
            // Nothing is fetched (and no raw read made) unless the layout was checked on this build.
            self.columnCount = RawLayout.isVerified ? stored.pointee.table.schema.count : 0
            self.last = stored.pointee.lastFoundSlot
            self.scope = scope
            self.sender = sender
        }

        /// Asks for what applying copies up to `index + 2 × distance` needs, as far as not asked yet.
        @inline(__always)
        mutating func advance(to index: Int, in stored: UnsafePointer<Stored>) {
            guard columnCount > 0 else { return }
            let arraysEnd = min(copies.count, index + 2 * Self.distance)
            while arraysDone < arraysEnd {
                fetchArrays(arraysDone, stored: stored)
                arraysDone += 1
            }
            let buffersEnd = min(copies.count, index + Self.distance)
            while buffersDone < buffersEnd {
                fetchBuffers(buffersDone)
                buffersDone += 1
            }
        }

        /// Runs the first pass only, for the first copies (an update just arrived: the column arrays
        /// arrive while the role does its bookkeeping; the apply's own prefetcher then finds them).
        mutating func fetchFirstArrays(in stored: UnsafePointer<Stored>) {
            guard columnCount > 0 else { return }
            let end = min(copies.count, 2 * Self.distance)
            while arraysDone < end {
                fetchArrays(arraysDone, stored: stored)
                arraysDone += 1
            }
        }

        /// The first pass for copy `i`: its column array, and the held segment's.
        @inline(__always)
        private mutating func fetchArrays(_ i: Int, stored: UnsafePointer<Stored>) {
            var held: UnsafeRawPointer?
            if let slot = stored.pointee.peekKnownSlot(of: copies[i].origin, scope: scope, sender: sender, after: &last) {
                held = stored.pointee.table.heldColumnArray(at: slot)
            }
            var carried: UnsafeRawPointer?
            if case .delta = copies[i].copy {
                carried = RawLayout.upsertColumns(UnsafeRawPointer(copies.baseAddress! + i))
                assert(
                    {
                        guard case .delta(_, _, let upserts, _) = copies[i].copy else { return false }
                        return carried == RawLayout.arrayBuffer(upserts.columns)
                    }(), "delta column array misread")
            }
            let k = 2 * (i % (2 * Self.distance))
            found[k] = held
            found[k + 1] = carried
            let arrayBytes = RawLayout.arrayHeader + columnCount * MemoryLayout<Column>.stride
            if let held { TableStore.fetch(held, bytes: arrayBytes, limit: 512) }
            if let carried { TableStore.fetch(carried, bytes: arrayBytes, limit: 512) }
        }

        /// The second pass for copy `i`: the buffers its column arrays (asked for a distance ago) point to.
        @inline(__always)
        private func fetchBuffers(_ i: Int) {
            let k = 2 * (i % (2 * Self.distance))
            if let held = found[k] { TableStore.fetchColumnBuffers(held, columnCount: columnCount) }
            if let carried = found[k + 1] { TableStore.fetchColumnBuffers(carried, columnCount: columnCount) }
        }
    }

    /// Asks for the column arrays of the held rows that `entries` (an update from a sender whose
    /// origins belong to `scope`, with dense index `sender`) will be applied to, and of their
    /// copies; with `buffers`, also for the values' buffers those arrays point to (the arrays
    /// should have been asked for a step before: they are read).
    func prefetch(_ entries: [TableEntry], scope: NodeID, sender: Int?, buffers: Bool) {
        guard RawLayout.isVerified else { return }
        // Through pointers to the stored tables and the copies: nothing is copied (retained) out.
        tables.values.withUnsafeBufferPointer { values in
            for e in entries.indices {
                guard let index = tables.index(forKey: entries[e].table) else { continue }
                entries[e].copies.withUnsafeBufferPointer { copies in
                    Self.prefetch(copies, in: values.baseAddress! + index, scope: scope, sender: sender, buffers: buffers)
                }
            }
        }
    }

    @inline(never)
    private static func prefetch(
        _ copies: UnsafeBufferPointer<OriginCopy>, in stored: UnsafePointer<Stored>, scope: NodeID, sender: Int?,
        buffers: Bool
    ) {
        var prefetcher = Prefetcher(copies, in: stored, scope: scope, sender: sender)
        if buffers {
            prefetcher.advance(to: 0, in: stored)
        } else {
            prefetcher.fetchFirstArrays(in: stored)
        }
    }

    /// Asks for the entries of `pending[index]` (their array read from the update's bytes in
    /// place), and for their copy arrays if `copies` (the entries having arrived: they are read).
    static func prefetchEntries(of pending: UnsafeBufferPointer<PendingIntake>, at index: Int, copies: Bool) {
        guard RawLayout.isVerified else { return }
        let array = RawLayout.object(UnsafeRawPointer(pending.baseAddress! + index) + RawLayout.pendingEntries, word: 0)
        assert(pending[index].entries.isEmpty || array == RawLayout.arrayBuffer(pending[index].entries), "pending entries misread")
        let count = array.load(fromByteOffset: RawLayout.arrayCount, as: Int.self)
        let stride = MemoryLayout<TableEntry>.stride
        guard copies else {
            fetch(array, bytes: RawLayout.arrayHeader + count * stride, limit: 512)
            return
        }
        for e in 0..<min(count, 8) {
            let copyArray = RawLayout.object(array + RawLayout.arrayHeader + e * stride + RawLayout.entryCopies, word: 0)
            fetch(copyArray, bytes: RawLayout.arrayHeader + MemoryLayout<OriginCopy>.stride, limit: 128)
        }
    }

    /// Asks for the buffers of the segment at `segment` (`columnCount` columns), in two steps: its
    /// column array, then (waiting for that array only) every buffer it points to, at once. For a
    /// lone segment about to be read whole (an edge's held rows before a diff) or released (each
    /// release writes the buffer's header).
    static func prefetch(segment: UnsafePointer<Segment>, columnCount: Int) {
        guard RawLayout.isVerified else { return }
        let array = RawLayout.object(UnsafeRawPointer(segment) + RawLayout.segmentColumns, word: 0)
        fetch(array, bytes: RawLayout.arrayHeader + columnCount * MemoryLayout<Column>.stride, limit: 512)
        assert(array == RawLayout.arrayBuffer(segment.pointee.columns), "segment column array misread")
        fetchColumnBuffers(array, columnCount: columnCount)
    }

    /// The first lines of the buffers the columns in the column array at `array` point to.
    @inline(__always)
    fileprivate static func fetchColumnBuffers(_ array: UnsafeRawPointer, columnCount: Int) {
        // The array's own count bounds the reads (a copy whose schema differs from the table's is
        // refused later, but its array is read here first).
        let count = min(columnCount, array.load(fromByteOffset: RawLayout.arrayCount, as: Int.self))
        for c in 0..<count {
            let column = array + RawLayout.arrayHeader + c * MemoryLayout<Column>.stride
            // Word 0 of every storage case is a buffer (a text column's bytes, whose offsets are
            // word 1); word 1 of the others is harmless to hint.
            fetch(RawLayout.object(column, word: 0), bytes: 256, limit: 256)
            fetch(RawLayout.object(column, word: 1), bytes: 128, limit: 128)
        }
    }

    /// Hints the lines from `base` up to `min(bytes, limit)`.
    @inline(__always)
    fileprivate static func fetch(_ base: UnsafeRawPointer, bytes: Int, limit: Int) {
        var offset = 0
        let end = min(bytes, limit)
        while offset < end {
            swift_query_prefetch(base + offset)
            offset += 64
        }
    }

    /// Where the buffers lie in the values' bytes (64-bit Linux).
    enum RawLayout {
        /// An array buffer's header: the object header, then count and capacity.
        static let arrayHeader = 32
        /// Where an array buffer's element count lies.
        static let arrayCount = 16
        /// The bits of a word holding an object reference that are never part of the address (the
        /// top four and, by alignment, the bottom three); an enum may keep its case there.
        static let spareBits: UInt = 0xF000_0000_0000_0007
        /// A segment's column array within the segment.
        static let segmentColumns = MemoryLayout<Segment>.offset(of: \Segment.columns)!
        /// A held segment's column array within a held slice (an optional's payload starts at 0).
        static let sliceColumns = MemoryLayout<Table.Slice>.offset(of: \Table.Slice.segment)! + segmentColumns
        /// A delta's upserts within an origin copy: the copy's payload starts at 0, after the
        /// origin, with the base and the version first.
        static let copyUpsertColumns = MemoryLayout<OriginCopy>.offset(of: \OriginCopy.copy)! + 16 + segmentColumns

        /// An entry's copy array within the entry.
        static let entryCopies = MemoryLayout<TableEntry>.offset(of: \TableEntry.copies)!
        /// A pending update's entry array within it.
        static let pendingEntries = MemoryLayout<PendingIntake>.offset(of: \PendingIntake.entries)!

        /// The object a word at `base` refers to, its spare bits cleared.
        @inline(__always)
        static func object(_ base: UnsafeRawPointer, word: Int) -> UnsafeRawPointer {
            let bits = base.load(fromByteOffset: word * 8, as: UInt.self) & ~spareBits
            return UnsafeRawPointer(bitPattern: bits) ?? base
        }

        /// The column array of the slice at `slice` (which holds one).
        @inline(__always)
        static func heldColumns(_ slice: UnsafeRawPointer) -> UnsafeRawPointer {
            object(slice + sliceColumns, word: 0)
        }

        /// Whether the raw reads find what the safe reads find on this build, checked once on
        /// values made for the purpose: a slice held in a table, a delta in an origin copy, and each
        /// storage case of a column. If not (another compiler laid the values out differently),
        /// nothing is fetched: the applies are the same, only slower.
        static let isVerified: Bool = {
            let schema = try! Schema(
                [("k", .integer), ("t", .text), ("r", .real), ("b", .boolean), ("a", .any)], key: ["k"])
            let segment = try! Segment(schema: schema, rows: [[.integer(1), .text("x"), .real(2), .boolean(true), .text("y")]])
            var table = Table(name: "layout", schema: schema)
            guard (try? table.replace(origin: "o", version: 1, segment: segment, publishedAt: .zero)) != nil,
                let slot = table.slot(of: "o"), table.heldColumnArray(at: slot, checked: false) == arrayBuffer(segment.columns)
            else { return false }
            let copies = [
                OriginCopy(origin: "o", copy: .full(version: 1, segment: segment), publishedAt: .zero),
                OriginCopy(
                    origin: "o", copy: .delta(base: 1, version: 2, upserts: segment, deletes: .empty(schema.deleteSchema)),
                    publishedAt: .zero),
            ]
            let carried = copies.withUnsafeBufferPointer { upsertColumns(UnsafeRawPointer($0.baseAddress! + 1)) }
            guard carried == arrayBuffer(segment.columns) else { return false }
            // An entry's copies, and a pending update's entries.
            let entries = [TableEntry(table: "layout", copies: copies, removed: [], completeness: TableCompleteness())]
            let copyArray = entries.withUnsafeBufferPointer { object(UnsafeRawPointer($0.baseAddress!) + entryCopies, word: 0) }
            guard copyArray == arrayBuffer(entries[0].copies) else { return false }
            let pending = [PendingIntake(entries: entries, sequence: 1, generation: 1, peer: "o", sender: 0, arrived: .zero)]
            let entryArray = pending.withUnsafeBufferPointer { object(UnsafeRawPointer($0.baseAddress!) + pendingEntries, word: 0) }
            guard entryArray == arrayBuffer(pending[0].entries) else { return false }
            // Word 0 of each column (word 1 of a text column) is its values' buffer.
            return segment.columns.withUnsafeBufferPointer { columns in
                columns.indices.allSatisfy { c in
                    let raw = UnsafeRawPointer(columns.baseAddress! + c)
                    switch columns[c].storage {
                    case .integer(let v): return object(raw, word: 0) == arrayBuffer(v)
                    case .real(let v): return object(raw, word: 0) == arrayBuffer(v)
                    case .boolean(let v): return object(raw, word: 0) == arrayBuffer(v)
                    case .any(let v): return object(raw, word: 0) == arrayBuffer(v)
                    case .text(let v): return object(raw, word: 0) == arrayBuffer(v.bytes) && object(raw, word: 1) == arrayBuffer(v.offsets)
                    }
                }
            }
        }()

        /// The buffer of `array`, read the safe way (the checks of the raw reads above).
        static func arrayBuffer<T>(_ array: [T]) -> UnsafeRawPointer? {
            array.withUnsafeBufferPointer { $0.baseAddress.map { UnsafeRawPointer($0) - arrayHeader } }
        }

        /// The upserts' column array of the delta in the origin copy at `copy`.
        @inline(__always)
        static func upsertColumns(_ copy: UnsafeRawPointer) -> UnsafeRawPointer {
            object(copy + copyUpsertColumns, word: 0)
        }
    }
}

extension TableStore.Stored {
    /// The slot ``knownSlot(of:scope:sender:)`` would find for `origin`, without moving the store's
    /// hints (`last` stands for ``lastFoundSlot`` and moves instead).
    func peekKnownSlot(of origin: NodeID, scope: NodeID, sender: Int?, after last: inout Int) -> Int? {
        guard let sender, origin == scope else { return peekSlot(of: origin, after: &last) }
        if sender < senderSlots.count {
            let hint = senderSlots[sender]
            if hint >= 0, hint < table.slotCount, table.origin(at: hint) == origin { return hint }
        }
        return table.slot(of: origin)
    }

    /// The slot ``slotAfterLastFound(_:)`` finds for `origin` with `last` as the slot found last
    /// (`last` moves to it; unchanged if there is none), without moving the store's own hint.
    func peekSlot(of origin: NodeID, after last: inout Int) -> Int? {
        let count = table.slotCount
        var candidate = last &+ 1
        let end = min(count, candidate &+ Self.forwardProbes)
        while candidate < end {
            if table.origin(at: candidate) == origin {
                last = candidate
                return candidate
            }
            candidate &+= 1
        }
        guard let slot = table.slot(of: origin) else { return nil }
        last = slot
        return slot
    }
}

extension Table {
    /// The column array of the segment held in `slot`, read from the slice's bytes in place (see
    /// ``TableStore/Prefetcher``); `nil` if the slot holds nothing.
    func heldColumnArray(at slot: Int, checked: Bool = true) -> UnsafeRawPointer? {
        slotSlices.withUnsafeBufferPointer { slices in
            guard slot >= 0, slot < slices.count, case .some = slices[slot] else { return nil }
            let array = TableStore.RawLayout.heldColumns(UnsafeRawPointer(slices.baseAddress! + slot))
            assert(!checked || array == TableStore.RawLayout.arrayBuffer(slices[slot]!.segment.columns), "held column array misread")
            return array
        }
    }
}
