import QueryCore
import QuerySQL
import Testing

/// `SQLEngine` keeps consolidated tables and computed views across queries of one
/// `SnapshotCatalog` (by its content token) and never serves them for different contents.
@Suite("SQLEngine cache over snapshot catalogs")
struct SnapshotCatalogCacheTests {
    func catalog(_ rows: [String: [[Value]]], version: UInt64 = 1) throws -> SnapshotCatalog {
        let table = try makeTable("processes", [("machine_id", .integer), ("rss", .integer)], rows)
        return SnapshotCatalog(
            tables: ["processes": table], views: ["big": "SELECT machine_id FROM processes WHERE rss > 100"],
            version: version)
    }

    @Test func copiesShareTheTokenAndEveryChangeRenewsIt() throws {
        let first = try catalog(["edge:1": [[1, 50]]])
        var copy = first
        #expect(copy.contentToken == first.contentToken)
        copy.version = 1
        #expect(copy.contentToken != first.contentToken)
        var other = first
        other.views["small"] = "SELECT 1"
        #expect(other.contentToken != first.contentToken)
        #expect(other.contentToken != copy.contentToken)
        #expect(try catalog(["edge:1": [[1, 50]]]).contentToken != first.contentToken)
    }

    @Test func changedTablesAreNeverAnsweredFromTheCache() throws {
        let engine = SQLEngine()
        var snapshot = try catalog(["edge:1": [[1, 50], [1, 200]]])
        let count = "SELECT count(*), sum(rss) FROM processes"
        #expect(try engine.evaluate(count, in: snapshot).rows == [[2, 250]])
        #expect(try engine.evaluate("SELECT count(*) FROM big", in: snapshot).rows == [[1]])
        // Same version number, different rows: the token, not the version, decides.
        snapshot.tables["processes"] = try makeTable(
            "processes", [("machine_id", .integer), ("rss", .integer)], ["edge:1": [[1, 500]], "edge:2": [[2, 700]]])
        #expect(try engine.evaluate(count, in: snapshot).rows == [[2, 1200]])
        #expect(try engine.evaluate("SELECT count(*) FROM big", in: snapshot).rows == [[2]])
    }

    @Test func alternatingCatalogsWithEqualVersionsStayApart() throws {
        // One engine shared by two SQL nodes whose catalogs carry the same version number.
        let engine = SQLEngine()
        let a = try catalog(["edge:1": [[1, 10]]], version: 7)
        let b = try catalog(["edge:1": [[1, 20]], "edge:2": [[2, 30]]], version: 7)
        for _ in 0..<3 {
            #expect(try engine.evaluate("SELECT sum(rss) FROM processes", in: a).rows == [[10]])
            #expect(try engine.evaluate("SELECT sum(rss) FROM processes", in: b).rows == [[50]])
        }
    }
}
