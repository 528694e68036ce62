import QueryCore
import Testing
@testable import QuerySQL

/// A small, repeatable generator (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Windowed aggregates kept incrementally by the engine against a brute-force reference that
/// recomputes every aggregate from the window's events at each output.
@Suite struct WindowDifferentialTests {
    struct Sent {
        var index: Int
        var time: Double
        var host: String
        var key: Int64
        var v: Value
        var w: Value
    }

    enum Kind: CustomStringConvertible {
        case length(Int), time(Int), unique
        var view: String {
            switch self {
            case .length(let n): "win:length(\(n))"
            case .time(let s): "win:time(\(s) sec)"
            case .unique: "std:unique(k)"
            }
        }
        var description: String { view }
    }

    /// The events in the window after event `last` at time `t` (only events before `last` if it
    /// has not been processed yet: `includeLast == false`).
    static func window(_ kind: Kind, _ events: [Sent], upTo last: Int, includeLast: Bool, at t: Double) -> [Sent] {
        let seen = Array(events[0..<(includeLast ? last + 1 : last)])
        switch kind {
        case .length(let n): return Array(seen.suffix(n))
        case .time(let d): return seen.filter { $0.time + Double(d) > t }
        case .unique:
            var newest: [Int64: Sent] = [:]
            for e in seen { newest[e.key] = e }
            return Array(newest.values)
        }
    }

    static func reference(_ rows: [Sent]) -> [Value] {
        let vs = rows.compactMap { r -> Int64? in if case .integer(let i) = r.v { return i } else { return nil } }
        let ws = rows.compactMap { r -> Double? in if case .real(let d) = r.w { return d } else { return nil } }
        return [
            .integer(Int64(rows.count)),
            .integer(Int64(vs.count)),
            vs.isEmpty ? .null : .integer(vs.reduce(0, +)),
            vs.isEmpty ? .null : .real(Double(vs.reduce(0, +)) / Double(vs.count)),
            vs.min().map { .integer($0) } ?? .null,
            vs.max().map { .integer($0) } ?? .null,
            .real(ws.reduce(0, +)),
            ws.min().map { .real($0) } ?? .null,
        ]
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func groupedAggregatesMatchBruteForce(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let kinds: [Kind] = [.length(Int.random(in: 1...12, using: &rng)), .time(Int.random(in: 1...8, using: &rng)), .unique]
        let kind = kinds[Int(seed) % kinds.count]
        let replay = "seed \(seed), window \(kind): replay with `swift test --filter WindowDifferentialTests`"
        let engine = StreamEngine()
        try engine.createStatement("create schema S(host string, k int, v int, w double)")
        let id = try engine.createStatement(
            """
            select host, count(*) as n, count(v) as nv, sum(v) as s, avg(v) as a, min(v) as lo, max(v) as hi,
              total(w) as tw, min(w) as lw
            from S.\(kind.view) group by host
            """)
        var events: [Sent] = []
        var time = 0.0
        let hosts = ["h1", "h2", "h3", "h4"]
        for i in 0..<400 {
            time += Double(Int.random(in: 0...2, using: &rng)) * 0.5
            let v: Value = Int.random(in: 0..<6, using: &rng) == 0 ? .null : .integer(Int64.random(in: -50...50, using: &rng))
            let w: Value = Int.random(in: 0..<5, using: &rng) == 0 ? .null : .real(Double(Int.random(in: -1000...1000, using: &rng)) / 8)
            let e = Sent(
                index: i, time: time, host: hosts[Int.random(in: 0..<hosts.count, using: &rng)],
                key: Int64.random(in: 0..<6, using: &rng), v: v, w: w)
            events.append(e)
            let outputs = try engine.send("S", fields: ["host": .text(e.host), "k": .integer(e.key), "v": v, "w": w], at: .seconds(time))
            try #require(!outputs.isEmpty, "\(replay): no output for event \(i)")
            for (o, output) in outputs.enumerated() {
                #expect(output.statement == id)
                let isEventUpdate = o == outputs.count - 1
                let t = output.time.seconds
                let contents = Self.window(kind, events, upTo: i, includeLast: isEventUpdate, at: t)
                if isEventUpdate {
                    #expect(output.rows.contains { $0[0] == .text(e.host) }, "\(replay): event \(i)'s host has no row")
                }
                for row in output.rows {
                    guard case .text(let host) = row[0] else { Issue.record("\(replay): host is not text"); continue }
                    let expected = Self.reference(contents.filter { $0.host == host })
                    let actual = Array(row[1...])
                    let same = zip(expected, actual).allSatisfy { approximatelyEqual($0, $1, tolerance: 1e-9) }
                    #expect(same, "\(replay): event \(i) at t=\(t), host \(host): expected \(expected), got \(actual)")
                    if !same { return }
                }
            }
        }
    }
}
