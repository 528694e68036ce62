extension TableStore {
    /// The tables a store holds, by name: a role holds a handful, so names are searched linearly
    /// (a `TableName` comparison rejects another name by its precomputed hash, no hashing per
    /// lookup); past ``linearLimit`` tables a dictionary of positions takes over.
    ///
    /// Positions (``index(forKey:)``) stay valid until a table is added or removed.
    struct Tables: Sendable {
        /// The names, at the positions of their tables in ``values``.
        private(set) var keys: [TableName] = []
        /// The tables, at the positions of their names in ``keys`` (mutated in place by position).
        var values: [Stored] = []
        /// Name → position, kept only past ``linearLimit`` tables.
        private var positions: [TableName: Int]?

        /// Up to this many tables, names are searched linearly.
        static let linearLimit = 16

        /// How many tables are held.
        var count: Int { keys.count }

        /// The position of `name`'s table, if held.
        func index(forKey name: TableName) -> Int? {
            if let positions { return positions[name] }
            var i = 0
            while i < keys.count {
                if keys[i] == name { return i }
                i += 1
            }
            return nil
        }

        /// `name`'s table; setting `nil` removes it.
        subscript(name: TableName) -> Stored? {
            get { index(forKey: name).map { values[$0] } }
            set {
                if let index = index(forKey: name) {
                    if let newValue {
                        values[index] = newValue
                    } else {
                        remove(at: index)
                    }
                } else if let newValue {
                    keys.append(name)
                    values.append(newValue)
                    if positions != nil {
                        positions![name] = keys.count - 1
                    } else if keys.count > Self.linearLimit {
                        rebuildPositions()
                    }
                }
            }
        }

        /// Removes `name`'s table and returns it, if held.
        @discardableResult
        mutating func removeValue(forKey name: TableName) -> Stored? {
            guard let index = index(forKey: name) else { return nil }
            let removed = values[index]
            remove(at: index)
            return removed
        }

        private mutating func remove(at index: Int) {
            keys.remove(at: index)
            values.remove(at: index)
            if positions != nil { rebuildPositions() }
        }

        private mutating func rebuildPositions() {
            guard keys.count > Self.linearLimit else {
                positions = nil
                return
            }
            var rebuilt: [TableName: Int] = [:]
            rebuilt.reserveCapacity(keys.count)
            for (index, name) in keys.enumerated() { rebuilt[name] = index }
            positions = rebuilt
        }
    }
}

extension TableStore.Stored {
    /// The slot of `origin`, found through a hint kept per sender when the origin is its sender's
    /// own scope (an edge reporting its own rows to a proxy: one origin per sender and table).
    ///
    /// The hint (``senderSlots``, indexed by the sender's dense index at the receiving role) is
    /// only a shortcut: it is used only if the slot it names holds `origin` now, and refreshed
    /// from the table's lookup by name otherwise, so a stale or shared hint costs a lookup, never
    /// a wrong slot.
    mutating func knownSlot(of origin: NodeID, scope: NodeID, sender: Int?) -> Int? {
        var last = lastFoundSlot
        let slot = peekKnownSlot(of: origin, scope: scope, sender: sender, after: &last)
        lastFoundSlot = last
        if let sender, origin == scope, let slot, sender >= senderSlots.count || senderSlots[sender] != slot {
            noteSenderSlot(slot, sender: sender)
        }
        return slot
    }

    /// The slot of `origin`, looked for first among the few slots after the one this lookup found
    /// last (``lastFoundSlot``), then by name.
    ///
    /// A sender lists its origins in the same (sorted) order in every entry, and a receiver
    /// assigned their slots in that order when it first heard them: the origins of one entry (a
    /// cluster's or a whole fleet's changed machines) usually sit a slot or two after one another.
    /// The candidates are checked against the slot's origin (a `NodeID` comparison rejects another
    /// name by its precomputed hash), so the hint costs a lookup by name when it misses, never a
    /// wrong slot.
    mutating func slotAfterLastFound(_ origin: NodeID) -> Int? {
        var last = lastFoundSlot
        let slot = peekSlot(of: origin, after: &last)
        lastFoundSlot = last
        return slot
    }

    /// How many slots after the last one found ``slotAfterLastFound(_:)`` checks before looking up by name.
    static let forwardProbes = 4

    /// Remembers `slot` as the slot of the sender with dense index `sender` (see ``knownSlot(of:scope:sender:)``).
    mutating func noteSenderSlot(_ slot: Int, sender: Int) {
        if sender >= senderSlots.count {
            senderSlots.append(contentsOf: repeatElement(-1, count: sender + 1 - senderSlots.count))
        }
        senderSlots[sender] = slot
    }
}
