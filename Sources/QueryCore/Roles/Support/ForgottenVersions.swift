/// The version a SQL node held of each origin of the tables it let go (their interest lapsed), so
/// that a table wanted again never serves an origin's rows older than the node once served: the
/// TLA it listens to by then (after a failover) may hold older rows of some origins. Copies older
/// than that are left out of what the node applies (the same version is the same rows: taken); once
/// that TLA hears the newer version, its delta finds nothing held here and is answered with a full
/// copy. An origin's floor goes once the origin is held again.
struct ForgottenVersions: Sendable {
    private var floors: [TableName: [NodeID: Version]] = [:]

    /// Whether no floor is kept (the usual case: nothing to filter).
    var isEmpty: Bool { floors.isEmpty }

    /// Remembers the versions of `table`'s origins as the node lets go of the table `name`.
    mutating func forgot(_ name: TableName, held table: Table?) {
        guard let table, !table.slices.isEmpty else { return }
        var versions = floors[name] ?? [:]
        for origin in table.slices.keys {
            guard let version = table.slices[origin]?.version else { continue }
            versions[origin] = max(versions[origin] ?? version, version)
        }
        floors[name] = versions
    }

    /// `entries` without the copies whose version is below their origin's floor, and how many were
    /// left out.
    func filtering(_ entries: [TableEntry]) -> (entries: [TableEntry], leftOut: Int) {
        var leftOut = 0
        var kept = entries
        for e in kept.indices {
            guard let versions = floors[kept[e].table] else { continue }
            let before = kept[e].copies.count
            kept[e].copies.removeAll { copy in
                versions[copy.origin].map { copy.copy.version < $0 } ?? false
            }
            leftOut += before - kept[e].copies.count
        }
        return (kept, leftOut)
    }

    /// Lets go of the floors of the origins of `names` that `store` now holds (the filter let no
    /// older version through).
    mutating func cleared(by store: TableStore, tables names: [TableName]) {
        for name in names {
            guard var versions = floors[name], let table = store[name]?.table else { continue }
            for origin in Array(versions.keys) where table.slices[origin] != nil {
                versions.removeValue(forKey: origin)
            }
            floors[name] = versions.isEmpty ? nil : versions
        }
    }
}
