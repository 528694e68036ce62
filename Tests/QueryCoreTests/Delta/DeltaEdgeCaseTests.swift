import Testing

@testable import QueryCore

@Suite struct DeltaEdgeCaseTests {
    let keyed = try! Schema(
        [
            ColumnDefinition("id", .integer, nullable: false), ColumnDefinition("name", .text),
            ColumnDefinition("x", .real),
        ],
        key: ["id"]
    )
    let keyless = try! Schema([("name", .text), ("x", .real), ("flag", .boolean), ("any", .any), ("n", .integer)])

    @Test func emptySegments() throws {
        for schema in [keyed, keyless] {
            let empty = Segment.empty(schema)
            let (upserts, deletes) = try empty.diff(to: empty)
            #expect(upserts.isEmpty && deletes.isEmpty)
            let some = try Segment(schema: schema, rows: [schema.columns.map { $0.nullable ? .null : 1 }])
            let (u, d) = try empty.diff(to: some)
            #expect(u.rowCount == 1 && d.isEmpty)
            let (u2, d2) = try some.diff(to: empty)
            #expect(u2.isEmpty && d2.rowCount == 1)
            #expect(try some.applying(.delta(base: 1, version: 2, upserts: u2, deletes: d2), heldVersion: 1).isEmpty)
            #expect(
                try empty.applying(.delta(base: 1, version: 2, upserts: u, deletes: d), heldVersion: 1).hasSameRows(
                    as: some
                )
            )
            #expect(empty.hasSameRows(as: .empty(schema)))
            #expect(!empty.hasSameRows(as: some))
        }
    }

    @Test func nullsInEveryType() throws {
        let schema = try Schema(ColumnType.allCases.map { ColumnDefinition("\($0)", $0) })
        let nullRow = [Value](repeating: .null, count: schema.count)
        let placeholderRow: [Value] = [0, 0.0, "", false, 0]
        let a = try Segment(schema: schema, rows: [nullRow, placeholderRow, nullRow])
        let b = try Segment(schema: schema, rows: [placeholderRow, nullRow])
        // NULL differs from the placeholder stored under it.
        #expect(!a.hasSameRows(as: try Segment(schema: schema, rows: [placeholderRow, placeholderRow, nullRow])))
        let (upserts, deletes) = try a.diff(to: b)
        #expect(upserts.isEmpty)
        #expect(deletes.exactRows == [nullRow.map(ExactValue.init)])
        #expect(
            try a.applying(.delta(base: 1, version: 2, upserts: upserts, deletes: deletes), heldVersion: 1).hasSameRows(
                as: b
            )
        )
    }

    @Test func floatsCompareExactly() throws {
        let schema = try Schema([("x", .real)])
        let zero = try Segment(schema: schema, rows: [[.real(0.0)]])
        let negativeZero = try Segment(schema: schema, rows: [[.real(-0.0)]])
        let nan = try Segment(schema: schema, rows: [[.real(.nan)]])
        let otherNaN = try Segment(schema: schema, rows: [[.real(Double(nan: 5, signaling: false))]])
        #expect(!zero.hasSameRows(as: negativeZero))
        #expect(nan.hasSameRows(as: try Segment(schema: schema, rows: [[.real(.nan)]])))
        #expect(!nan.hasSameRows(as: otherNaN))
        let (upserts, deletes) = try zero.diff(to: negativeZero)
        #expect(upserts.rowCount == 1 && deletes.rowCount == 1)
        let result = try zero.applying(.delta(base: 1, version: 2, upserts: upserts, deletes: deletes), heldVersion: 1)
        guard case .real(let x) = result.value(row: 0, column: 0) else {
            Issue.record("not a real")
            return
        }
        #expect(x.bitPattern == (-0.0).bitPattern)
        let (none, noDeletes) = try nan.diff(to: nan)
        #expect(none.isEmpty && noDeletes.isEmpty)
    }

    @Test func anyColumnsKeepStorageClasses() throws {
        let schema = try Schema([("v", .any)])
        let integer = try Segment(schema: schema, rows: [[.integer(1)]])
        let real = try Segment(schema: schema, rows: [[.real(1.0)]])
        let boolean = try Segment(schema: schema, rows: [[.boolean(true)]])
        #expect(!integer.hasSameRows(as: real))
        #expect(!integer.hasSameRows(as: boolean))
        let (upserts, deletes) = try integer.diff(to: real)
        #expect(
            try integer.applying(.delta(base: 1, version: 2, upserts: upserts, deletes: deletes), heldVersion: 1)
                .hasSameRows(as: real)
        )
    }

    @Test func unicodeTextAndExtremeIntegers() throws {
        let a = try Segment(
            schema: keyed,
            rows: [
                [.integer(.min), "e\u{301}", 1.0], [.integer(.max), "日本語🎉", .null], [0, "", .real(-0.0)],
            ]
        )
        // "é" precomposed is a different text from "e" + combining accent (byte-wise).
        let b = try Segment(
            schema: keyed,
            rows: [
                [.integer(.min), "é", 1.0], [.integer(.max), "日本語🎉", .null], [1, "a\u{0}b", 2.5],
            ]
        )
        let (upserts, deletes) = try a.diff(to: b)
        #expect(upserts.rowCount == 2)
        #expect(deletes.exactRows == [[ExactValue(.integer(0))]])
        #expect(
            try a.applying(.delta(base: 3, version: 4, upserts: upserts, deletes: deletes), heldVersion: 3).hasSameRows(
                as: b
            )
        )
    }

    @Test func duplicateKeysAreRejected() throws {
        let twice = try Segment(schema: keyed, rows: [[1, "a", 1.0], [1, "b", 2.0]])
        let once = try Segment(schema: keyed, rows: [[1, "a", 1.0]])
        #expect(throws: QueryError.self) { try once.diff(to: twice) }
        #expect(throws: QueryError.self) { try twice.diff(to: once) }
        #expect(throws: QueryError.self) { try Segment.empty(keyed).diff(to: twice) }
        do {
            _ = try once.diff(to: twice)
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("(1)"))
        }
        // A delta that upserts one key twice is malformed.
        let copy = TableCopy.delta(base: 1, version: 2, upserts: twice, deletes: .empty(keyed.deleteSchema))
        expectError(.invalidArgument) { try once.applying(copy, heldVersion: 1) }
        // So is one that upserts and deletes the same key.
        let deletes = try Segment(schema: keyed.deleteSchema, rows: [[1]])
        let both = TableCopy.delta(base: 1, version: 2, upserts: once, deletes: deletes)
        expectError(.invalidArgument) { try once.applying(both, heldVersion: 1) }
    }

    @Test func versionErrors() throws {
        let a = try Segment(schema: keyed, rows: [[1, "a", 1.0]])
        let delta = TableCopy.delta(base: 2, version: 3, upserts: .empty(keyed), deletes: .empty(keyed.deleteSchema))
        expectError(.staleVersion) { try a.applying(delta, heldVersion: 3) }
        expectError(.baseVersionMismatch) { try a.applying(delta, heldVersion: 1) }
        expectError(.baseVersionMismatch) { try a.applying(delta, heldVersion: nil) }
        #expect(try a.applying(delta, heldVersion: 2).hasSameRows(as: a))
        #expect(try a.applying(.full(version: 1, segment: .empty(keyed)), heldVersion: nil).isEmpty)
        #expect(throws: QueryError.self) { try TableCopy.make(from: (3, a), to: (3, a)) }
        // Deleting a key that is not held means the receiver is not at the base it claims.
        let missing = try Segment(schema: keyed.deleteSchema, rows: [[99]])
        let bad = TableCopy.delta(base: 2, version: 3, upserts: .empty(keyed), deletes: missing)
        expectError(.baseVersionMismatch) { try a.applying(bad, heldVersion: 2) }
        let keylessMissing = try Segment(schema: keyless, rows: [["x", 1.0, true, 1, 1]])
        let badKeyless = TableCopy.delta(base: 2, version: 3, upserts: .empty(keyless), deletes: keylessMissing)
        expectError(.baseVersionMismatch) { try Segment.empty(keyless).applying(badKeyless, heldVersion: 2) }
    }

    @Test func schemaMismatchBetweenVersions() throws {
        let other = try Schema(
            [ColumnDefinition("id", .integer, nullable: false), ColumnDefinition("name", .text)],
            key: ["id"]
        )
        let a = try Segment(schema: keyed, rows: [[1, "a", 1.0]])
        let b = try Segment(schema: other, rows: [[1, "a"]])
        expectError(.schemaMismatch) { try a.diff(to: b) }
        // A publisher whose schema changed sends a full copy.
        #expect(try TableCopy.make(from: (1, a), to: (2, b)).isFull)
        let (u, d) = try b.diff(to: b)
        let foreignDelta = TableCopy.delta(base: 1, version: 2, upserts: u, deletes: d)
        expectError(.schemaMismatch) { try a.applying(foreignDelta, heldVersion: 1) }
        // Deletes must follow the delete schema.
        let wrongDeletes = TableCopy.delta(base: 1, version: 2, upserts: .empty(keyed), deletes: .empty(keyed))
        expectError(.schemaMismatch) { try a.applying(wrongDeletes, heldVersion: 1) }

        var table = Table(name: "t", schema: keyed)
        try table.apply(.full(version: 1, segment: a), origin: "edge:1", publishedAt: .zero)
        try table.apply(.full(version: 1, segment: a), origin: "edge:2", publishedAt: .zero)
        let error = expectError(.schemaMismatch) { try table.apply(foreignDelta, origin: "edge:1", publishedAt: .zero) }
        #expect(error?.message.contains("edge:1") == true)
        expectError(.schemaMismatch) {
            try table.apply(.full(version: 2, segment: b), origin: "edge:1", publishedAt: .zero)
        }
        #expect(table.version(of: "edge:1") == 1)
        // The only origin may change the schema with a full copy.
        var single = Table(name: "t", schema: keyed)
        try single.apply(.full(version: 1, segment: a), origin: "edge:1", publishedAt: .zero)
        #expect(try single.apply(.full(version: 2, segment: b), origin: "edge:1", publishedAt: .zero) == .applied)
        #expect(single.schema == other)
    }
}

@Suite struct DeltaApplyPathTests {
    let schema = try! Schema(
        [ColumnDefinition("id", .integer, nullable: false), ColumnDefinition("v", .text)],
        key: ["id"]
    )

    func rows(_ ids: some Sequence<Int>, _ text: String) -> Segment {
        try! Segment(schema: schema, rows: ids.map { [.integer(Int64($0)), .text("\(text)\($0)")] })
    }

    /// Small deltas are applied by linear search, larger ones by hashing: both must agree.
    @Test(arguments: [2, DeltaStrategy.linearApplyRows, DeltaStrategy.linearApplyRows + 1, 40])
    func bothApplyPathsAgree(changed: Int) throws {
        let held = rows(0..<50, "a")
        // Change `changed / 2` rows, delete a quarter as many, insert the rest.
        let updates = changed / 2
        let deletes = changed / 4
        let inserts = changed - updates - deletes
        var target = held.rows
        for i in 0..<updates { target[i][1] = .text("b\(i)") }
        target.removeLast(deletes)
        target += rows(100..<(100 + inserts), "c").rows
        let targetSegment = try Segment(schema: schema, rows: target)
        let (u, d) = try held.diff(to: targetSegment)
        #expect(u.rowCount + d.rowCount == changed)
        let applied = try held.applying(.delta(base: 1, version: 2, upserts: u, deletes: d), heldVersion: 1)
        #expect(applied.exactRows.count == target.count)
        #expect(applied.hasSameRows(as: targetSegment))
        // Updated rows stay in place.
        #expect(applied.exactRows.prefix(updates) == targetSegment.exactRows.prefix(updates))
    }

    @Test(arguments: [2, 20])
    func malformedDeltasAreRejectedOnBothPaths(size: Int) throws {
        let held = rows(0..<30, "a")
        let duplicated = try Segment(schema: schema, rows: rows(0..<size, "x").rows + [[0, "again"]])
        let noDeletes = Segment.empty(schema.deleteSchema)
        expectError(.invalidArgument) {
            try held.applying(.delta(base: 1, version: 2, upserts: duplicated, deletes: noDeletes), heldVersion: 1)
        }
        let deleteIDs = try Segment(schema: schema.deleteSchema, rows: (0..<size).map { [.integer(Int64($0))] } + [[0]])
        expectError(.invalidArgument) {
            try held.applying(.delta(base: 1, version: 2, upserts: .empty(schema), deletes: deleteIDs), heldVersion: 1)
        }
        let overlap = try Segment(schema: schema.deleteSchema, rows: [[1]])
        expectError(.invalidArgument) {
            try held.applying(
                .delta(base: 1, version: 2, upserts: rows(0..<size, "y"), deletes: overlap),
                heldVersion: 1
            )
        }
        let notHeld = try Segment(
            schema: schema.deleteSchema,
            rows: (1000..<(1000 + size)).map { [.integer(Int64($0))] }
        )
        expectError(.baseVersionMismatch) {
            try held.applying(.delta(base: 1, version: 2, upserts: .empty(schema), deletes: notHeld), heldVersion: 1)
        }
        // Held rows that repeat a key (never produced by a valid history) are reported, not merged.
        let badHeld = try Segment(schema: schema, rows: [[1, "a"], [1, "b"]] + rows(2..<5, "z").rows)
        expectError(.baseVersionMismatch) {
            try badHeld.applying(
                .delta(base: 1, version: 2, upserts: rows(1..<(1 + size), "n"), deletes: noDeletes),
                heldVersion: 1
            )
        }
    }
}
