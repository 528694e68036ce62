import Testing

@testable import QueryCore

/// The receivers' per-apply bookkeeping in one pass (``TableStore/Stored/noteApplied(at:scope:confirmedAt:publishedAt:)``)
/// held to the three steps it replaces (``TableStore/Stored/ensureRecord(at:confirmedAt:scope:)``,
/// ``TableStore/Stored/setScope(_:at:)``, ``TableStore/Stored/confirm(_:at:)``), and the two-step
/// history's push (a swap, no copy) held to a list of the last two steps.
@Suite struct ApplyBookkeepingTests {
    @Test func oneBookkeepingPassMatchesTheThreeSteps() throws {
        let scopes: [NodeID] = ["proxy:0.0", "proxy:1.0", "tla:0"]
        for seed in testSeeds(60, salt: 17) {
            var rng = SeededRandom(seed: seed)
            let schema = try Schema([("k", .integer)], key: ["k"])
            var table = Table(name: "t", schema: schema)
            let origins = (0..<6).map { NodeID("edge:0.\($0)") }
            for origin in origins { _ = table.assignSlot(origin) }
            var onePass = TableStore.Stored(table: table)
            onePass.coverSlots()
            var steps = onePass
            for step in 0..<80 {
                let slot = Int.random(in: 0..<origins.count, using: &rng)
                if rng.chance(0.1) {
                    _ = onePass.remove(slot: slot)
                    _ = steps.remove(slot: slot)
                    continue
                }
                let scope = rng.pick(scopes)
                let confirmed = Instant.seconds(Double(Int.random(in: 0...50, using: &rng)))
                let published = Instant.seconds(Double(Int.random(in: 0...50, using: &rng)))
                onePass.noteApplied(at: slot, scope: scope, confirmedAt: confirmed, publishedAt: published)
                steps.ensureRecord(at: slot, confirmedAt: confirmed, scope: scope)
                steps.setScope(scope, at: slot)
                steps.confirm(slot, at: published)
                for s in origins.indices {
                    #expect(onePass.scope(at: s) == steps.scope(at: s), "slot \(s), step \(step), \(replay(seed))")
                    #expect(onePass.confirmedAt(s) == steps.confirmedAt(s), "slot \(s), step \(step), \(replay(seed))")
                }
            }
        }
    }

    @Test func historyPushKeepsTheLastTwoSteps() throws {
        let schema = try Schema([("k", .integer)], key: ["k"])
        var history = TableStore.History()
        var reference: [Version] = []
        for version in Version(1)...Version(9) {
            let rows = try Segment(schema: schema, rows: [[.integer(Int64(version))]])
            history.push(.rows(version: version, segment: rows))
            reference.append(version)
            if reference.count > 2 { reference.removeFirst() }
            #expect(history.steps.map(\.version) == reference)
            #expect(history.last?.version == version)
            // Each kept step still holds its own rows (moved, not shared with another step).
            for step in history.steps {
                guard case .rows(let v, let segment) = step else { continue }
                #expect(segment.row(0) == [.integer(Int64(v))])
            }
            #expect(history.steps(from: version).map(\.version) == [version])
            if reference.count == 2 { #expect(history.steps(from: reference[0]).map(\.version) == reference) }
        }
        history.removeAll()
        #expect(history.steps.isEmpty)
    }
}
