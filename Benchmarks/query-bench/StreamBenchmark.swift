import ArgumentParser
import QueryCore
import QuerySQL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `query-bench stream`: the continuous-query engine on one core.
///
/// Figures (events per second, and the 99th percentile of event-to-trigger latency):
/// 1. `stream.filter_events_s`: 1,000 registered filter statements, each event satisfying the
///    filters of 3 of them (the filter index finds them without trying the other 997);
/// 2. `stream.window_avg_events_s`: 1,000 statements `avg(cpu)` over `win:time(20 sec)` grouped by
///    host (1,000 hosts) with a `HAVING`, each event feeding 3 of them;
/// 3. `stream.join_events_s`: the paper's two-stream join on `win:length(1)` windows;
/// 4. `stream.pattern_events_s`: `every a=A(x > 50) -> b=B(id = a.id) where timer:within(10 sec)`;
/// 5. `stream.p99_latency_us`: per-event latency (send to triggers returned) in workload 2, wall
///    clock, sampled every 10th event.
///
/// Throughput is events divided by the thread's CPU time, so a busy shared machine does not
/// distort the per-core figure.
struct StreamBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Continuous queries: indexed filters, windowed aggregates, joins, patterns; events/s on one core."
    )

    @Option(help: "Events per workload.")
    var events = 1_000_000

    @Option(help: "Registered statements in workloads 1 and 2.")
    var statements = 1_000

    @Option(help: "Timed runs per figure; the median is reported.")
    var runs = 3

    @Option(help: "Run only these workloads (comma-separated: filter, window, join, pattern).")
    var only: String?

    mutating func run() throws {
        let chosen = Set((only ?? "filter,window,join,pattern").split(separator: ",").map(String.init))
        if chosen.contains("filter") {
            let filter = try median { try filterWorkload() }
            emit("stream.filter_events_s", Double(events) / filter, "events/s")
        }
        var latencies: [Double] = []
        if chosen.contains("window") {
            let window = try median { try windowWorkload(latencies: &latencies) }
            emit("stream.window_avg_events_s", Double(events) / window, "events/s")
        }
        if chosen.contains("join") {
            let join = try median { try joinWorkload() }
            emit("stream.join_events_s", Double(events) / join, "events/s")
        }
        if chosen.contains("pattern") {
            let pattern = try median { try patternWorkload() }
            emit("stream.pattern_events_s", Double(events) / pattern, "events/s")
        }
        latencies.sort()
        if !latencies.isEmpty {
            emit("stream.p99_latency_us", latencies[Int(Double(latencies.count - 1) * 0.99)] * 1e6, "us")
            emit("stream.p50_latency_us", latencies[latencies.count / 2] * 1e6, "us")
        }
    }

    /// A repeatable generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    private func median(_ body: () throws -> Double) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) { times.append(try body()) }
        times.sort()
        return times[times.count / 2]
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// CPU time of this thread in seconds: throughput is per core, and the machine may be shared.
    private func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    private func emit(_ name: String, _ value: Double, _ unit: String) {
        let rounded = value >= 100 ? String(Int(value.rounded())) : String((value * 100).rounded() / 100)
        print("\(name) \(rounded) \(unit)")
    }

    /// Workload 1: indexed filters. Returns the timed seconds.
    private func filterWorkload() throws -> Double {
        let engine = StreamEngine()
        try engine.createStatement("create schema CpuEvent(host string, cluster string, cpu int)")
        let groups = max(1, statements / 3)
        for i in 0..<statements {
            try engine.createStatement("select host, cpu from CpuEvent(cluster = 'c\(i % groups)', cpu > 50)")
        }
        let handle = engine.stream(named: "CpuEvent")!
        var rng = Generator(state: 1)
        let prepared = (0..<4096).map { _ in
            [Value.text("h\(rng.below(1000))"), .text("c\(rng.below(groups))"), .integer(Int64(rng.below(100)))]
        }
        var triggers = 0
        // Triggers are delivered into one reused buffer (`send(_:_:at:into:)`), which gives the
        // same triggers as the array-returning `send` without allocating per trigger.
        var outputs = StreamOutputBuffer()
        let start = threadCPU()
        for i in 0..<events {
            outputs.removeAll()
            try engine.send(handle, prepared[i & 4095], at: .milliseconds(Int64(i)), into: &outputs)
            triggers &+= outputs.count
        }
        let elapsed = threadCPU() - start
        precondition(triggers > 0)
        return elapsed
    }

    /// Workload 2: grouped time-window averages with HAVING.
    private func windowWorkload(latencies: inout [Double]) throws -> Double {
        let engine = StreamEngine()
        try engine.createStatement("create schema CpuEvent(host string, cluster string, cpu int)")
        let groups = max(1, statements / 3)
        for i in 0..<statements {
            try engine.createStatement(
                "select host, avg(cpu) as a from CpuEvent(cluster = 'c\(i % groups)').win:time(20 sec) group by host having avg(cpu) > 90")
        }
        let handle = engine.stream(named: "CpuEvent")!
        var rng = Generator(state: 2)
        let prepared = (0..<4096).map { _ -> [Value] in
            let host = rng.below(1000)
            return [.text("h\(host)"), .text("c\(host % groups)"), .integer(Int64(rng.below(100)))]
        }
        let clock = ContinuousClock()
        var sampled: [Double] = []
        sampled.reserveCapacity(events / 10 + 1)
        let start = threadCPU()
        for i in 0..<events {
            if i % 10 == 0 {
                let t0 = clock.now
                _ = try engine.send(handle, prepared[i & 4095], at: .milliseconds(Int64(i)))
                sampled.append(seconds(clock.now - t0))
            } else {
                _ = try engine.send(handle, prepared[i & 4095], at: .milliseconds(Int64(i)))
            }
        }
        let elapsed = threadCPU() - start
        if latencies.isEmpty { latencies = sampled }
        return elapsed
    }

    /// Workload 3: the two-stream join on length-one windows.
    private func joinWorkload() throws -> Double {
        let engine = StreamEngine()
        try engine.createStatement("create schema BWUtilization(host string, bwutil double)")
        try engine.createStatement("create schema MemoryUtilization(host string, memutil double)")
        try engine.createStatement(
            """
            select b.bwutil as bw, m.memutil as mem from BWUtilization.win:length(1) as b,
              MemoryUtilization.win:length(1) as m where b.bwutil > 80 and m.memutil > 70
            """)
        let bw = engine.stream(named: "BWUtilization")!, mem = engine.stream(named: "MemoryUtilization")!
        var rng = Generator(state: 3)
        let prepared = (0..<4096).map { _ in [Value.text("h\(rng.below(100))"), .real(Double(rng.below(100)))] }
        let start = threadCPU()
        for i in 0..<events {
            _ = try engine.send(i & 1 == 0 ? bw : mem, prepared[i & 4095], at: .milliseconds(Int64(i)))
        }
        return threadCPU() - start
    }

    /// Workload 4: a followed-by pattern with a time guard.
    private func patternWorkload() throws -> Double {
        let engine = StreamEngine()
        try engine.createStatement("create schema A(id int, x int)")
        try engine.createStatement("create schema B(id int)")
        try engine.createStatement(
            "select a.id as id from pattern [every a=A(x > 50) -> b=B(id = a.id) where timer:within(10 sec)]")
        let a = engine.stream(named: "A")!, b = engine.stream(named: "B")!
        var rng = Generator(state: 4)
        let prepared = (0..<4096).map { _ in [Value.integer(Int64(rng.below(50))), .integer(Int64(rng.below(100)))] }
        var matches = 0
        let start = threadCPU()
        for i in 0..<events {
            let values = prepared[i & 4095]
            if i & 1 == 0 {
                matches &+= try engine.send(a, values, at: .milliseconds(Int64(i) * 10)).count
            } else {
                matches &+= try engine.send(b, [values[0]], at: .milliseconds(Int64(i) * 10)).count
            }
        }
        let elapsed = threadCPU() - start
        precondition(matches > 0)
        return elapsed
    }
}
