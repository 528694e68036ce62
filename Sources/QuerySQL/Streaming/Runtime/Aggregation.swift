import QueryCore

/// Aggregate functions kept incrementally over windows.
enum AggregateFunction: String, Sendable, CaseIterable {
    case count, sum, avg, min, max, total
}

/// One aggregate call of a statement, compiled.
struct StreamAggregateSpec: Sendable {
    var function: AggregateFunction
    /// `nil` for `count(*)`.
    var argument: CompiledExpression?
    var distinct: Bool
    /// The call's source text, used to share identical calls.
    var text: String
}

/// The running maximum (or minimum) of values that leave in the order they entered: a monotonic
/// deque, O(1) amortised per event.
final class MonotonicDeque {
    private var values: [Value] = []
    private var sequences: [UInt64] = []
    private var head = 0
    /// `true` keeps the maximum, `false` the minimum.
    private let keepsMaximum: Bool

    init(keepsMaximum: Bool) { self.keepsMaximum = keepsMaximum }

    func enter(_ v: Value, sequence: UInt64) {
        while values.count > head {
            let c = Value.compare(values[values.count - 1], v)
            if keepsMaximum ? c <= 0 : c >= 0 {
                values.removeLast()
                sequences.removeLast()
            } else {
                break
            }
        }
        values.append(v)
        sequences.append(sequence)
    }

    func leave(sequence: UInt64) {
        if head < values.count, sequences[head] == sequence {
            head += 1
            if head > 32 && head * 2 > values.count {
                values.removeFirst(head)
                sequences.removeFirst(head)
                head = 0
            }
        }
    }

    var current: Value { head < values.count ? values[head] : .null }

    func reset() {
        values.removeAll(keepingCapacity: true)
        sequences.removeAll(keepingCapacity: true)
        head = 0
    }
}

/// The maximum (or minimum) of a multiset with arbitrary removals: a binary heap with lazy
/// deletion, O(log n) amortised per operation. Used where values leave out of order (unique
/// windows, joins, named windows with `on … delete`).
final class LazyExtremumHeap {
    private var heap: [Value] = []
    private var pendingRemovals: [Value: Int] = [:]
    private var pendingCount = 0
    private let keepsMaximum: Bool

    init(keepsMaximum: Bool) { self.keepsMaximum = keepsMaximum }

    @inline(__always)
    private func above(_ a: Value, _ b: Value) -> Bool {
        let c = Value.compare(a, b)
        return keepsMaximum ? c > 0 : c < 0
    }

    func enter(_ v: Value) {
        heap.append(v)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard above(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    func leave(_ v: Value) {
        pendingRemovals[v, default: 0] += 1
        pendingCount += 1
        settle()
        // Keep memory bounded when removals pile up below the top.
        if pendingCount > 64 && pendingCount * 2 > heap.count { rebuild() }
    }

    var current: Value {
        heap.first ?? .null
    }

    private func settle() {
        while let top = heap.first, let n = pendingRemovals[top] {
            if n == 1 { pendingRemovals.removeValue(forKey: top) } else { pendingRemovals[top] = n - 1 }
            pendingCount -= 1
            popTop()
        }
    }

    private func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count && above(heap[l], heap[best]) { best = l }
            if r < heap.count && above(heap[r], heap[best]) { best = r }
            if best == i { return }
            heap.swapAt(i, best)
            i = best
        }
    }

    private func rebuild() {
        var remaining: [Value] = []
        remaining.reserveCapacity(heap.count - pendingCount)
        for v in heap {
            if let n = pendingRemovals[v] {
                if n == 1 { pendingRemovals.removeValue(forKey: v) } else { pendingRemovals[v] = n - 1 }
                pendingCount -= 1
            } else {
                remaining.append(v)
            }
        }
        heap = []
        for v in remaining { enter(v) }
    }
}

/// The running count and sum of the numeric values in a window (`count`, `sum`, `avg`, `total`),
/// kept exactly: integers in an `Int64` with a floating-point guard that notices overflow, reals
/// apart. Plain data (no references), so flat per-group arrays of it cost no reference counting.
struct RunningSum {
    /// Non-null values (or rows, for `count(*)`) currently counted.
    var count: Int64 = 0
    private var integerSum: Int64 = 0
    private var integerSumOverflowGuard: Double = 0
    private var realSum: Double = 0
    private var realCount: Int64 = 0

    /// Adds a non-null value to the sum and the count.
    @inline(__always)
    mutating func add(_ v: Value) {
        count += 1
        switch v {
        case .integer(let i):
            integerSum = integerSum &+ i
            integerSumOverflowGuard += Double(i)
        case .boolean(let b):
            integerSum = integerSum &+ (b ? 1 : 0)
            integerSumOverflowGuard += b ? 1 : 0
        default:
            realSum += SQLArithmetic.double(v) ?? 0
            realCount += 1
        }
    }

    /// Removes a non-null value added earlier.
    @inline(__always)
    mutating func remove(_ v: Value) {
        count -= 1
        switch v {
        case .integer(let i):
            integerSum = integerSum &- i
            integerSumOverflowGuard -= Double(i)
        case .boolean(let b):
            integerSum = integerSum &- (b ? 1 : 0)
            integerSumOverflowGuard -= b ? 1 : 0
        default:
            realSum -= SQLArithmetic.double(v) ?? 0
            realCount -= 1
        }
        if count == 0 { resetSums() }
    }

    /// Starts the sums exactly from zero again: no floating-point residue survives an empty window.
    @inline(__always)
    mutating func resetSums() {
        integerSum = 0
        integerSumOverflowGuard = 0
        realSum = 0
        realCount = 0
    }

    private var integerSumOverflowed: Bool { Swift.abs(integerSumOverflowGuard) >= 9.2e18 }

    private var exactTotal: Double {
        (integerSumOverflowed ? integerSumOverflowGuard : Double(integerSum)) + realSum
    }

    /// The value of `count`, `sum`, `avg` or `total` (SQLite's results: `sum` of integers is an
    /// integer, `avg` a real, `sum` of nothing `NULL`, `total` of nothing `0.0`).
    @inline(__always)
    func value(_ function: AggregateFunction) -> Value {
        switch function {
        case .count: return .integer(count)
        case .sum:
            if count == 0 { return .null }
            if realCount == 0 && !integerSumOverflowed { return .integer(integerSum) }
            return .real(exactTotal)
        case .total: return .real(count == 0 ? 0 : exactTotal)
        case .avg: return count == 0 ? .null : .real(exactTotal / Double(count))
        case .min, .max: return .null
        }
    }

    /// `avg` as a double, `nil` for an empty window (the same number ``value(_:)`` gives).
    @inline(__always)
    var average: Double? { count == 0 ? nil : exactTotal / Double(count) }
}

/// The incremental state of one aggregate over the rows currently in a window: values are added
/// when rows enter and subtracted when they leave; nothing is rescanned.
struct Accumulator {
    let function: AggregateFunction
    let distinct: Bool
    private var sum = RunningSum()
    private var deque: MonotonicDeque?
    private var heap: LazyExtremumHeap?
    private var distinctCounts: [Value: Int]?

    /// Non-null values (or rows, for `count(*)`) currently counted.
    var count: Int64 { sum.count }

    /// - Parameter fifo: whether values leave in the order they entered (monotonic deque for min/max).
    init(_ spec: StreamAggregateSpec, fifo: Bool) {
        self.function = spec.function
        self.distinct = spec.distinct
        if spec.function == .min || spec.function == .max {
            if fifo && !spec.distinct {
                deque = MonotonicDeque(keepsMaximum: spec.function == .max)
            } else {
                heap = LazyExtremumHeap(keepsMaximum: spec.function == .max)
            }
        }
        if spec.distinct { distinctCounts = [:] }
    }

    /// Adds one value (`nil` argument means `count(*)`'s row).
    mutating func enter(_ v: Value, sequence: UInt64) {
        if v.isNull { return }
        if distinctCounts != nil {
            let n = distinctCounts![v, default: 0]
            distinctCounts![v] = n + 1
            if n > 0 { return }
        }
        switch function {
        case .count: sum.count += 1
        case .sum, .avg, .total: sum.add(v)
        case .min, .max:
            sum.count += 1
            if let deque { deque.enter(v, sequence: sequence) } else { heap?.enter(v) }
        }
    }

    /// Removes one value that entered earlier.
    mutating func leave(_ v: Value, sequence: UInt64) {
        if v.isNull { return }
        if distinctCounts != nil {
            let n = distinctCounts![v, default: 0]
            if n <= 1 { distinctCounts!.removeValue(forKey: v) } else { distinctCounts![v] = n - 1; return }
            if n == 0 { return }
        }
        switch function {
        case .count: sum.count -= 1
        case .sum, .avg, .total: sum.remove(v)
        case .min, .max:
            sum.count -= 1
            if let deque { deque.leave(sequence: sequence) } else { heap?.leave(v) }
            if sum.count == 0 { deque?.reset() }
        }
    }

    /// Counts one row for `count(*)`.
    mutating func enterRow() { sum.count += 1 }
    /// Un-counts one row for `count(*)`.
    mutating func leaveRow() { sum.count -= 1 }

    /// The aggregate's current value (SQLite's results: `sum` of integers is an integer, `avg` a
    /// real, `sum` of nothing `NULL`, `total` of nothing `0.0`).
    var value: Value {
        switch function {
        case .count, .sum, .total, .avg:
            return sum.value(function)
        case .min, .max:
            if sum.count == 0 { return .null }
            return deque?.current ?? heap?.current ?? .null
        }
    }
}

/// The state of one group: its key, its aggregates, how many rows it holds and a representative
/// row for evaluating the group's non-aggregated columns.
final class GroupState {
    let key: [Value]
    var accumulators: [Accumulator]
    var rowCount = 0
    var representative: Row?
    /// The last update in which the group was touched (to list touched groups once).
    var touchedStamp: UInt64 = 0

    init(key: [Value], specs: [StreamAggregateSpec], fifo: Bool) {
        self.key = key
        self.accumulators = specs.map { Accumulator($0, fifo: fifo) }
    }

    func enter(_ row: Row, specs: [StreamAggregateSpec], sequence: UInt64) {
        rowCount += 1
        representative = row
        for i in specs.indices {
            if let argument = specs[i].argument {
                accumulators[i].enter(argument.evaluate(row), sequence: sequence)
            } else {
                accumulators[i].enterRow()
            }
        }
    }

    func leave(_ row: Row, specs: [StreamAggregateSpec], sequence: UInt64) {
        rowCount -= 1
        for i in specs.indices {
            if let argument = specs[i].argument {
                accumulators[i].leave(argument.evaluate(row), sequence: sequence)
            } else {
                accumulators[i].leaveRow()
            }
        }
    }

    /// Current aggregate values, by slot.
    var values: [Value] { accumulators.map(\.value) }
}
