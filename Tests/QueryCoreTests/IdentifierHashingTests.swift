import Testing

@testable import QueryCore

/// ``NodeID`` and ``TableName`` hash a hash computed once per value; equality and hashing must
/// still follow the name exactly, however the value was made.
@Suite struct IdentifierHashingTests {
    @Test func nodeIDsEqualAndHashByName() throws {
        let names = ["edge:0.0", "edge:0.1", "edge:10.0", "proxy:0.0", "tla:0", "sql:0", String(repeating: "n", count: 255)]
        var byName: [NodeID: String] = [:]
        for name in names { byName[NodeID(name)] = name }
        for name in names {
            let decoded = try NodeID(validating: name)
            #expect(decoded == NodeID(name))
            #expect(decoded.hashValue == NodeID(name).hashValue)
            #expect(byName[decoded] == name)
        }
        #expect(Set(names.map { NodeID($0) }).count == names.count)
        #expect(NodeID("edge:0.1") != NodeID("edge:0.10"))
        #expect(NodeID("a") < NodeID("b"))
    }

    @Test func tableNamesEqualAndHashByNormalisedName() throws {
        let literal: TableName = "software_versions"
        let validated = try TableName(validating: "Software_Versions")
        #expect(literal == validated)
        #expect(literal.hashValue == validated.hashValue)
        #expect(Set([literal, validated, TableName("processes")]).count == 2)
        #expect([validated: 1][literal] == 1)
        #expect(TableName("processes") != TableName("process"))
    }

    @Test func identifiersSurviveTheWire() throws {
        let node = NodeID("edge:3.14")
        var writer = WireWriter()
        node.encode(into: &writer)
        TableName("processes").encode(into: &writer)
        var reader = WireReader(writer.bytes)
        let decodedNode = try NodeID(from: &reader)
        let decodedTable = try TableName(from: &reader)
        #expect(decodedNode == node && Set([decodedNode, node]).count == 1)
        #expect(decodedTable == "processes" && [decodedTable: 1]["processes"] == 1)
    }
}
