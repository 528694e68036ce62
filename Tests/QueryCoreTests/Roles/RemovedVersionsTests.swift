import Testing

@testable import QueryCore

/// An origin's versions never go back, so a store that removed an origin's rows, or forgot the
/// table, refuses an older copy of that origin afterwards: it comes from a sender that lags behind
/// the one the rows came from (a standby proxy or TLA failed over to after a lossy spell; found by
/// `query-sim` seeds 423 of `mix,correlated,ondemand` and 2938 of `mix,correlated,ondemand,shapes`).
/// The same version is taken again (the same rows), and so is a newer one.
@Suite struct RemovedVersionsTests {
    static let origin: NodeID = "edge:0.0"
    static let other: NodeID = "edge:0.1"
    static let scope: NodeID = "cluster:0"
    static let schema = try! Schema([("pid", .integer), ("rss", .integer)], key: ["pid"])

    static func rows(_ rss: Int64) -> Segment {
        try! Segment(schema: schema, rows: [[.integer(1), .integer(rss)]])
    }

    static func entry(_ copies: [(NodeID, Version)], removed: [NodeID] = [], replacesScope: Bool = false) -> TableEntry {
        TableEntry(
            table: "processes",
            copies: copies.map { OriginCopy(origin: $0.0, copy: .full(version: $0.1, segment: rows(Int64($0.1))), publishedAt: .seconds(1)) },
            removed: removed, replacesScope: replacesScope, completeness: TableCompleteness())
    }

    func version(_ store: TableStore, _ origin: NodeID) -> Version? {
        store["processes"]?.table.slices[origin]?.version
    }

    @Test(arguments: [true, false]) func anOlderCopyAfterARemovalIsRefused(keepsHistory: Bool) {
        var store = TableStore(keepsHistory: keepsHistory)
        _ = store.apply(Self.entry([(Self.origin, 20), (Self.other, 5)]), scope: Self.scope, now: .seconds(1))
        // A reset from another sender that does not list the origin removes it.
        _ = store.apply(Self.entry([(Self.other, 5)], replacesScope: true), scope: Self.scope, now: .seconds(2))
        #expect(version(store, Self.origin) == nil)
        // That sender's older copy of it is refused; the same version or a newer one is taken.
        let report = store.apply(Self.entry([(Self.origin, 10)]), scope: Self.scope, now: .seconds(3))
        #expect(report.stale == 1 && version(store, Self.origin) == nil)
        _ = store.apply(Self.entry([(Self.origin, 20)]), scope: Self.scope, now: .seconds(4))
        #expect(version(store, Self.origin) == 20)
        // Removed by name, then older again: refused.
        _ = store.apply(Self.entry([], removed: [Self.origin]), scope: Self.scope, now: .seconds(5))
        _ = store.apply(Self.entry([(Self.origin, 15)]), scope: Self.scope, now: .seconds(6))
        #expect(version(store, Self.origin) == nil)
        _ = store.apply(Self.entry([(Self.origin, 30)]), scope: Self.scope, now: .seconds(7))
        #expect(version(store, Self.origin) == 30)
    }

    @Test func anOlderCopyOfAForgottenTableIsRefusedWhenItIsHeldAgain() {
        var store = TableStore(keepsHistory: true)
        _ = store.apply(Self.entry([(Self.origin, 20), (Self.other, 5)]), scope: Self.scope, now: .seconds(1))
        store.forget("processes")
        #expect(store["processes"] == nil)
        _ = store.apply(Self.entry([(Self.origin, 10), (Self.other, 5)], replacesScope: true), scope: Self.scope, now: .seconds(2))
        #expect(version(store, Self.origin) == nil)
        #expect(version(store, Self.other) == 5)
        _ = store.apply(Self.entry([(Self.origin, 21)]), scope: Self.scope, now: .seconds(3))
        #expect(version(store, Self.origin) == 21)
    }
}
