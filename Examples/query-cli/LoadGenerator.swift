import Foundation
import QueryCore
import QueryTransport
import Synchronization

/// Drives SQL nodes with an open-loop query load and reports latency and generations served.
///
/// Open loop: query *i* is due at `start + i / rate` whatever happened to earlier ones, and its
/// latency is measured from that due time, not from when it was sent, so a stall (in the node or
/// in this generator) shows up in the percentiles instead of silently lowering the rate
/// (coordinated omission). Queries go round-robin over one long-lived ``QuerySession`` per node and
/// cycle through the query mix.
///
/// Generations: every answer names the generation it was computed from. Per node, a generation
/// between the first one seen and the newest one that must be complete by the end (the one
/// before the current, since a TLA sends within half an interval) that no answer came from is
/// counted as missed.
struct LoadGenerator {
    var endpoints: [Endpoint]
    var rate: Double
    var duration: Double
    var queries: [String]
    /// The deployment's generation interval (seconds), for the missed-generation count.
    var interval: Double
    var configuration: QueryClient.Configuration

    struct Report {
        var latenciesMs: [Double]
        var errors: Int
        var firstError: String?
        var elapsed: Double
        var generationsMissed: Int
        var generationsSeen: Int
        /// Per answer: seconds between the oldest row's publish time and the answer's arrival.
        var dataLatencies: [Double]

        func percentile(_ p: Double) -> Double { Self.percentile(p, of: latenciesMs) }

        static func percentile(_ p: Double, of values: [Double]) -> Double {
            guard !values.isEmpty else { return .nan }
            let sorted = values.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
            return sorted[min(max(rank, 0), sorted.count - 1)]
        }

        /// `name value unit` lines.
        var lines: [String] {
            func format(_ value: Double) -> String { String(format: "%.2f", value) }
            return [
                "load.queries \(latenciesMs.count + errors) queries",
                "load.errors \(errors) queries",
                "load.achieved_qps \(format(Double(latenciesMs.count) / max(elapsed, 1e-9))) queries/s",
                "load.p50_ms \(format(percentile(50))) ms",
                "load.p90_ms \(format(percentile(90))) ms",
                "load.p99_ms \(format(percentile(99))) ms",
                "load.max_ms \(format(latenciesMs.max() ?? .nan)) ms",
                "load.generations_seen \(generationsSeen) generations",
                "load.generations_missed \(generationsMissed) generations",
                "load.data_latency_p50_s \(format(Self.percentile(50, of: dataLatencies))) s",
                "load.data_latency_max_s \(format(dataLatencies.max() ?? .nan)) s",
            ]
        }
    }

    private final class TallyBox: Sendable {
        let state = Mutex(Tally())
    }

    private struct Tally: Sendable {
        var latenciesMs: [Double] = []
        var errors = 0
        var firstError: String?
        var generations: [Int: Set<UInt64>] = [:]
        var dataLatencies: [Double] = []
    }

    func run() async throws -> Report {
        try await withSessions(endpoints[...], []) { sessions in try await drive(sessions) }
    }

    /// Opens one session per endpoint (nested, so each closes when the run ends).
    private func withSessions(
        _ remaining: ArraySlice<Endpoint>, _ opened: [QuerySession],
        _ body: ([QuerySession]) async throws -> Report
    ) async throws -> Report {
        guard let endpoint = remaining.first else { return try await body(opened) }
        let client = QueryClient(endpoints: [endpoint], configuration: configuration)
        return try await client.withSession { session in
            try await withSessions(remaining.dropFirst(), opened + [session], body)
        }
    }

    private func drive(_ sessions: [QuerySession]) async throws -> Report {
        let clock = ContinuousClock()
        let tally = TallyBox()
        let total = Int(rate * duration)
        let start = clock.now + .milliseconds(50)
        let queries = self.queries
        await withDiscardingTaskGroup { group in
            for index in 0..<total {
                let due = start + .nanoseconds(Int64(Double(index) / rate * 1e9))
                try? await clock.sleep(until: due)
                let session = sessions[index % sessions.count]
                let node = index % sessions.count
                let sql = queries[index % queries.count]
                group.addTask {
                    do {
                        let answer = try await session.query(sql)
                        let latency = due.duration(to: clock.now)
                        tally.state.withLock { tally in
                            tally.latenciesMs.append(Double(latency.components.attoseconds) / 1e15
                                + Double(latency.components.seconds) * 1000)
                            tally.generations[node, default: []].insert(answer.generation.number)
                            if let oldest = answer.completeness.oldestPublish {
                                tally.dataLatencies.append(Date().timeIntervalSince1970 - oldest.seconds)
                            }
                        }
                    } catch {
                        tally.state.withLock { tally in
                            tally.errors += 1
                            if tally.firstError == nil { tally.firstError = "\(error)" }
                        }
                    }
                }
            }
        }
        let elapsed = start.duration(to: clock.now)
        let final = tally.state.withLock { $0 }
        // The newest generation that must be complete now: the one before the current.
        let current = UInt64(Date().timeIntervalSince1970 / interval) + 1
        var missed = 0
        var seen = 0
        for (_, numbers) in final.generations {
            guard let first = numbers.min(), current >= 1 else { continue }
            let newest = current - 1
            seen += numbers.count
            if newest > first { missed += (first...newest).filter { !numbers.contains($0) }.count }
        }
        return Report(
            latenciesMs: final.latenciesMs, errors: final.errors, firstError: final.firstError,
            elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            generationsMissed: missed, generationsSeen: seen, dataLatencies: final.dataLatencies)
    }
}
