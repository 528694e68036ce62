import QueryCore
import QuerySQL
import Testing

/// A `SnapshotCatalog` keeps one `DerivedTableData` per table version: the engine builds a table's
/// relation once into it, every query and every copy of the catalog shares it, and any change to
/// the table (or to the tables as a whole) starts over.
@Suite("Snapshot catalog: derived data per table version")
struct SnapshotCatalogDerivedDataTests {
    func processes(_ rows: [String: [[Value]]]) throws -> Table {
        try makeTable("processes", [("machine_id", .integer), ("rss", .integer)], rows)
    }

    @Test func oneInstancePerVersionSharedByCopies() throws {
        var catalog = SnapshotCatalog()
        catalog.setTable(try processes(["edge:1": [[1, 50]]]), named: "processes")
        let first = try #require(catalog.derivedData(for: "processes"))
        let copy = catalog
        #expect(copy.derivedData(for: "processes") === first)
        #expect(catalog.derivedData(for: "machines") == nil)

        // Put back unchanged with what was derived: the same instance.
        let held = catalog.removeTable("processes")
        #expect(held === first && catalog.table("processes") == nil && catalog.derivedData(for: "processes") == nil)
        catalog.setTable(copy.table("processes")!, named: "processes", derived: held)
        #expect(catalog.derivedData(for: "processes") === first)

        // A new version: a new instance; the copy keeps the old one.
        catalog.setTable(try processes(["edge:1": [[1, 60]]]), named: "processes")
        #expect(catalog.derivedData(for: "processes") !== first)
        #expect(copy.derivedData(for: "processes") === first)

        // Setting the tables as a whole starts every table over.
        let before = catalog.derivedData(for: "processes")
        catalog.tables["machines"] = try makeTable("machines", [("machine_id", .integer)], ["edge:1": [[1]]])
        #expect(catalog.derivedData(for: "processes") !== before)
        #expect(catalog.derivedData(for: "machines") != nil)
        #expect(SnapshotCatalog(tables: ["processes": try processes([:])]).derivedData(for: "processes") != nil)
    }

    @Test func theEngineBuildsEachVersionOnceAndNeverServesAnOldOne() throws {
        let engine = SQLEngine()
        var catalog = SnapshotCatalog()
        catalog.setTable(try processes(["edge:1": [[1, 50], [1, 200]]]), named: "processes")
        let derived = try #require(catalog.derivedData(for: "processes"))
        #expect(derived.existing(Relation.self) == nil)
        #expect(try engine.evaluate("SELECT count(*), sum(rss) FROM processes", in: catalog).rows == [[2, 250]])
        let relation = try #require(derived.existing(Relation.self))
        // Another engine (another thread's, a persistent query's) over a copy finds the same relation.
        var copy = catalog
        copy.version += 1  // other changes leave the table's derived data alone
        #expect(try SQLEngine().evaluate("SELECT max(rss) FROM processes", in: copy).rows == [[200]])
        #expect(copy.derivedData(for: "processes")?.existing(Relation.self) === relation)
        // A changed table is answered from its own rows.
        catalog.setTable(try processes(["edge:1": [[1, 500]], "edge:2": [[2, 700]]]), named: "processes")
        #expect(try engine.evaluate("SELECT count(*), sum(rss) FROM processes", in: catalog).rows == [[2, 1200]])
        #expect(catalog.derivedData(for: "processes")?.existing(Relation.self) !== relation)
    }
}
