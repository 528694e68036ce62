#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small helpers shared by the benchmark suites: timing with medians and `name value unit` output.
///
/// Times are the **CPU time of the calling thread** (`CLOCK_THREAD_CPUTIME_ID`), not wall time, so
/// figures mean "on one core" and stay meaningful on a shared, loaded machine.
enum Bench {
    /// CPU seconds used by the calling thread so far.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Runs `body` `runs` times and returns the median CPU time in seconds.
    static func median(runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = threadCPUSeconds()
            try body()
            times.append(threadCPUSeconds() - start)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Runs `setup` (untimed) then `body` (timed) `runs` times; returns the median of `body`.
    static func median<State>(
        runs: Int,
        setup: () throws -> State,
        _ body: (inout State) throws -> Void
    ) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            var state = try setup()
            let start = threadCPUSeconds()
            try body(&state)
            times.append(threadCPUSeconds() - start)
            withExtendedLifetime(state) {}
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Prints one figure.
    static func emit(_ name: String, _ value: Double, _ unit: String) {
        if value == value.rounded(), abs(value) < 1e15 {
            print("\(name) \(Int(value)) \(unit)")
        } else {
            print("\(name) \(formatted(value)) \(unit)")
        }
    }

    /// A value with 4 significant digits (no Foundation).
    static func formatted(_ value: Double) -> String {
        let magnitude = abs(value)
        let decimals = magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 10 ? 2 : 3
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if decimals == 0 { return String(Int(rounded)) }
        var text = String(rounded)
        if let dot = text.firstIndex(of: ".") {
            let fraction = text[text.index(after: dot)...]
            if fraction.count < decimals { text += String(repeating: "0", count: decimals - fraction.count) }
        }
        return text
    }
}
