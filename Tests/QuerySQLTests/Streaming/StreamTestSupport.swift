import QueryCore
@testable import QuerySQL

/// A small harness: an engine with streams declared, events sent at whole seconds, and the
/// triggers of each statement collected.
struct StreamHarness {
    let engine = StreamEngine()
    var outputs: [StreamOutput] = []

    init(_ schemas: [String] = []) throws {
        for s in schemas { try engine.createStatement(s) }
    }

    @discardableResult
    mutating func statement(_ text: String) throws -> StatementID {
        try engine.createStatement(text)
    }

    @discardableResult
    mutating func send(_ stream: String, _ fields: [String: Value], at seconds: Double) throws -> [StreamOutput] {
        let out = try engine.send(stream, fields: fields, at: .seconds(seconds))
        outputs += out
        return out
    }

    @discardableResult
    mutating func advance(to seconds: Double) -> [StreamOutput] {
        let out = engine.advance(to: .seconds(seconds))
        outputs += out
        return out
    }

    /// Rows of one statement, flattened, as values of one column.
    func column(_ name: String, of id: StatementID) -> [Value] {
        outputs.filter { $0.statement == id }.flatMap { o in
            o.rows.map { $0[o.columns.firstIndex(of: name)!] }
        }
    }

    /// (time in seconds, rows) of one statement's triggers.
    func triggers(of id: StatementID) -> [(Double, [[Value]])] {
        outputs.filter { $0.statement == id }.map { ($0.time.seconds, $0.rows) }
    }
}

/// Whether two values are equal, reals within a relative tolerance.
func approximatelyEqual(_ a: Value, _ b: Value, tolerance: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (.real(let x), .real(let y)):
        return abs(x - y) <= tolerance * max(1, abs(x), abs(y))
    case (.real(let x), .integer(let y)), (.integer(let y), .real(let x)):
        return abs(x - Double(y)) <= tolerance * max(1, abs(x))
    default:
        return a == b && a.isNull == b.isNull
    }
}
