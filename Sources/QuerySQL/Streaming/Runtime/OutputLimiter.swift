import QueryCore

/// Something the engine's timer queue can wake up.
protocol TimerTarget: AnyObject {
    /// Called when the engine's time reaches a deadline the target scheduled.
    func timerFired(at time: Instant, engine: StreamEngine)
}

/// `OUTPUT [ALL|FIRST|LAST|SNAPSHOT] EVERY n (seconds|events)`: holds a statement's result rows
/// and releases them per interval.
///
/// - `all`: every row of the interval, released at its end;
/// - `first`: the first rows of an interval at once, nothing more until the interval ends;
/// - `last`: the last row of the interval (per group for grouped statements), at its end;
/// - `snapshot`: the statement's whole current result at the end of each interval.
///
/// Time intervals start when the statement is created (or at the first event if the engine had
/// no time yet) and repeat every `n` seconds of engine time; event intervals count result rows.
final class OutputLimiter: TimerTarget {
    let spec: EPLOutput
    weak var pipeline: RowPipeline?
    private var buffer: [OutputCandidate] = []
    private var lastByGroup: [[Value]: Int] = [:]
    private var rowsInInterval = 0
    private var firstReleased = false
    private var nextBoundary: Instant?
    private(set) var stopped = false

    init(spec: EPLOutput) { self.spec = spec }

    /// Starts time-based intervals at `now`.
    func start(now: Instant?, engine: StreamEngine) {
        guard case .seconds(let s) = spec.interval, let now else { return }
        guard nextBoundary == nil else { return }
        let boundary = now.advanced(by: .nanoseconds(Int64((s * 1e9).rounded())))
        nextBoundary = boundary
        engine.schedule(self, at: boundary)
    }

    func stop() { stopped = true }

    func offer(_ candidates: [OutputCandidate], pipeline: RowPipeline, engine: StreamEngine) {
        if nextBoundary == nil { start(now: engine.now, engine: engine) }
        switch spec.interval {
        case .seconds:
            switch spec.kind {
            case .all: buffer.append(contentsOf: candidates)
            case .last: remember(candidates)
            case .snapshot: break
            case .first:
                if !firstReleased && !candidates.isEmpty {
                    firstReleased = true
                    pipeline.release(candidates, engine: engine)
                }
            }
        case .events(let n):
            for c in candidates {
                switch spec.kind {
                case .all: buffer.append(c)
                case .last: remember([c])
                case .first:
                    if rowsInInterval == 0 { pipeline.release([c], engine: engine) }
                case .snapshot: break
                }
                rowsInInterval += 1
                if rowsInInterval >= n {
                    rowsInInterval = 0
                    flush(pipeline: pipeline, engine: engine)
                }
            }
        }
    }

    private func remember(_ candidates: [OutputCandidate]) {
        for c in candidates {
            let key = c.groupKey ?? []
            if let i = lastByGroup[key] {
                buffer[i] = c
            } else {
                lastByGroup[key] = buffer.count
                buffer.append(c)
            }
        }
    }

    private func flush(pipeline: RowPipeline, engine: StreamEngine) {
        switch spec.kind {
        case .all, .last:
            let rows = buffer
            buffer.removeAll()
            lastByGroup.removeAll()
            if !rows.isEmpty { pipeline.release(rows, engine: engine) }
        case .snapshot:
            let rows = pipeline.snapshot()
            if !rows.isEmpty { pipeline.release(rows, engine: engine) }
        case .first:
            firstReleased = false
        }
    }

    func timerFired(at time: Instant, engine: StreamEngine) {
        guard !stopped, let boundary = nextBoundary, boundary <= time, case .seconds(let s) = spec.interval,
            let pipeline
        else { return }
        flush(pipeline: pipeline, engine: engine)
        let next = boundary.advanced(by: .nanoseconds(Int64((s * 1e9).rounded())))
        nextBoundary = next
        engine.schedule(self, at: next)
    }
}
