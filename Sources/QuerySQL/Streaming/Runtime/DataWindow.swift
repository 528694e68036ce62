import QueryCore

/// What a statement's data window is, after parsing and checking its parameters.
indirect enum WindowSpec: Sendable, Hashable {
    /// No retention: each event enters and is gone (aggregates then run over all events so far).
    case none
    case keepAll
    case length(Int)
    case lengthBatch(Int)
    /// Nanoseconds.
    case time(Int64)
    case timeBatch(Int64)
    /// The newest event per distinct value of the fields.
    case unique([Int])
    /// One sub-window per distinct value of the fields.
    case grouped([Int], WindowSpec)

    /// Whether events leave in the order they entered.
    var isFIFO: Bool {
        switch self {
        case .none, .keepAll, .length, .lengthBatch, .time, .timeBatch: true
        case .unique, .grouped: false
        }
    }

    /// Whether events stay after they arrive (a join can look them up).
    var retains: Bool {
        if case .none = self { return false }
        return true
    }

    /// Creates the window.
    func make() -> DataWindow {
        switch self {
        case .none: NoWindow()
        case .keepAll: KeepAllWindow()
        case .length(let n): LengthWindow(n)
        case .lengthBatch(let n): LengthBatchWindow(n)
        case .time(let ns): TimeWindow(ns)
        case .timeBatch(let ns): TimeBatchWindow(ns)
        case .unique(let fields): UniqueWindow(fields)
        case .grouped(let fields, let child): GroupedWindow(fields, child)
        }
    }
}

/// A data window: keeps events and says which entered and which left.
///
/// Windows are driven by the engine: ``insert(_:now:into:)`` for each arriving event and
/// ``expire(now:into:)`` when ``nextDeadline`` has passed.
class DataWindow {
    /// Adds an arriving event; appends what entered and left to `update`.
    func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        update.entered.append(event)
    }

    /// Lets time pass; appends events that left (and, for batch windows, entered).
    func expire(now: Instant, into update: inout WindowUpdate) {}

    /// When the window next needs ``expire(now:into:)``, if ever.
    var nextDeadline: Instant? { nil }

    /// The events currently held, oldest first.
    var contents: [Event] { [] }

    /// The number of events held.
    var count: Int { 0 }

    /// Removes the events matching `predicate` (`on … delete`), appending them to `update.left`.
    func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {}
}

/// No retention: events enter and are never held, so aggregates accumulate over every event
/// since the statement started (as in Esper without a data window) and joins see the event only
/// as it arrives.
final class NoWindow: DataWindow {
    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        update.entered.append(event)
    }
}

/// Keeps every event (`win:keepall()`).
final class KeepAllWindow: DataWindow {
    private var events: [Event] = []

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        events.append(event)
        update.entered.append(event)
    }
    override var contents: [Event] { events }
    override var count: Int { events.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        events.removeAll { e in
            if predicate(e) { update.left.append(e); return true }
            return false
        }
    }
}

/// A FIFO buffer of events with O(1) append and pop from the front.
struct EventQueue {
    private(set) var storage: [Event] = []
    private(set) var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    var first: Event? { head < storage.count ? storage[head] : nil }
    /// The oldest event's time, without copying the event.
    var firstTime: Instant? { head < storage.count ? storage[head].time : nil }
    var elements: ArraySlice<Event> { storage[head...] }

    mutating func append(_ e: Event) { storage.append(e) }

    mutating func popFirst() -> Event? {
        guard head < storage.count else { return nil }
        let e = storage[head]
        head += 1
        if head > 64 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return e
    }

    mutating func removeAll(where predicate: (Event) -> Bool, into removed: inout [Event]) {
        var kept: [Event] = []
        kept.reserveCapacity(count)
        for e in storage[head...] {
            if predicate(e) { removed.append(e) } else { kept.append(e) }
        }
        storage = kept
        head = 0
    }

    mutating func takeAll() -> [Event] {
        let all = Array(storage[head...])
        storage.removeAll(keepingCapacity: true)
        head = 0
        return all
    }
}

/// The last `n` events (`win:length(n)`, `std:lastevent()` is `n = 1`).
final class LengthWindow: DataWindow {
    private let size: Int
    private var events = EventQueue()

    init(_ size: Int) { self.size = size }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        events.append(event)
        while events.count > size, let old = events.popFirst() { update.left.append(old) }
        update.entered.append(event)
    }
    override var contents: [Event] { Array(events.elements) }
    override var count: Int { events.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        events.removeAll(where: predicate, into: &update.left)
    }
}

/// Events of the last `duration` (`win:time(d)`): an event entering at `t` leaves at `t + d`.
final class TimeWindow: DataWindow {
    private let duration: Int64
    private var events = EventQueue()

    init(_ duration: Int64) { self.duration = duration }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        expire(now: now, into: &update)
        var stamped = event
        stamped.time = now
        events.append(stamped)
        update.entered.append(stamped)
    }

    override func expire(now: Instant, into update: inout WindowUpdate) {
        while let first = events.firstTime, first.nanosecondsSinceEpoch &+ duration <= now.nanosecondsSinceEpoch {
            update.left.append(events.popFirst()!)
        }
    }

    override var nextDeadline: Instant? {
        events.firstTime.map { Instant(nanosecondsSinceEpoch: $0.nanosecondsSinceEpoch &+ duration) }
    }
    override var contents: [Event] { Array(events.elements) }
    override var count: Int { events.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        events.removeAll(where: predicate, into: &update.left)
    }
}

/// Batches of `n` events (`win:length_batch(n)`): when the batch is full it enters as a whole and
/// the previous batch leaves.
final class LengthBatchWindow: DataWindow {
    private let size: Int
    private var current: [Event] = []
    private var previous: [Event] = []

    init(_ size: Int) { self.size = size }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        current.append(event)
        if current.count >= size {
            update.left.append(contentsOf: previous)
            update.entered.append(contentsOf: current)
            previous = current
            current = []
        }
    }
    override var contents: [Event] { previous }
    override var count: Int { previous.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        previous.removeAll { e in
            if predicate(e) { update.left.append(e); return true }
            return false
        }
        current.removeAll(where: predicate)
    }
}

/// Batches by time (`win:time_batch(d)`): every `d`, starting when the first event arrives, the
/// events collected enter as a whole and the previous batch leaves. When an interval passes with
/// neither new nor previous events, the window sleeps until the next event.
final class TimeBatchWindow: DataWindow {
    private let duration: Int64
    private var current: [Event] = []
    private var previous: [Event] = []
    private var flushAt: Instant?

    init(_ duration: Int64) { self.duration = duration }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        expire(now: now, into: &update)
        if flushAt == nil { flushAt = Instant(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch &+ duration) }
        var stamped = event
        stamped.time = now
        current.append(stamped)
    }

    override func expire(now: Instant, into update: inout WindowUpdate) {
        while let at = flushAt, at <= now {
            if current.isEmpty && previous.isEmpty {
                flushAt = nil
                return
            }
            update.left.append(contentsOf: previous)
            update.entered.append(contentsOf: current)
            previous = current
            current = []
            flushAt = Instant(nanosecondsSinceEpoch: at.nanosecondsSinceEpoch &+ duration)
            // One batch per call, so the engine can stamp each flush with its own time.
            return
        }
    }

    override var nextDeadline: Instant? { flushAt }
    override var contents: [Event] { previous }
    override var count: Int { previous.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        previous.removeAll { e in
            if predicate(e) { update.left.append(e); return true }
            return false
        }
        current.removeAll(where: predicate)
    }
}

/// The newest event per key (`std:unique(f, …)`): a new event replaces (and so removes) the held
/// event with the same key.
final class UniqueWindow: DataWindow {
    private let fields: [Int]
    private var byKey: [[Value]: Event] = [:]

    init(_ fields: [Int]) { self.fields = fields }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        let key = fields.map { $0 < event.values.count ? event.values[$0] : .null }
        if let old = byKey.updateValue(event, forKey: key) { update.left.append(old) }
        update.entered.append(event)
    }
    override var contents: [Event] { byKey.values.sorted { $0.sequence < $1.sequence } }
    override var count: Int { byKey.count }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        for (key, e) in byKey where predicate(e) {
            byKey.removeValue(forKey: key)
            update.left.append(e)
        }
    }
}

/// One sub-window per key (`std:groupwin(f).win:length(n)`); expiry is driven by a heap of the
/// sub-windows' deadlines, so idle groups cost nothing.
final class GroupedWindow: DataWindow {
    private let fields: [Int]
    private let child: WindowSpec
    private var windows: [[Value]: DataWindow] = [:]
    private var deadlines = DeadlineHeap<[Value]>()

    init(_ fields: [Int], _ child: WindowSpec) {
        self.fields = fields
        self.child = child
    }

    override func insert(_ event: Event, now: Instant, into update: inout WindowUpdate) {
        let key = fields.map { $0 < event.values.count ? event.values[$0] : .null }
        let window: DataWindow
        if let held = windows[key] {
            window = held
        } else {
            window = child.make()
            windows[key] = window
        }
        let before = window.nextDeadline
        window.insert(event, now: now, into: &update)
        if let after = window.nextDeadline, after != before { deadlines.push(after, key) }
    }

    override func expire(now: Instant, into update: inout WindowUpdate) {
        while let (at, key) = deadlines.peek, at <= now {
            deadlines.pop()
            guard let window = windows[key], let due = window.nextDeadline, due <= now else { continue }
            window.expire(now: now, into: &update)
            if let next = window.nextDeadline { deadlines.push(next, key) }
            if window.count == 0 && window.nextDeadline == nil { windows.removeValue(forKey: key) }
        }
    }

    override var nextDeadline: Instant? { deadlines.peek?.0 }
    override var contents: [Event] { windows.values.flatMap(\.contents).sorted { $0.sequence < $1.sequence } }
    override var count: Int { windows.values.reduce(0) { $0 + $1.count } }
    override func remove(where predicate: (Event) -> Bool, into update: inout WindowUpdate) {
        for window in windows.values { window.remove(where: predicate, into: &update) }
    }
}

/// A binary min-heap of deadlines with a payload; ties leave in insertion order.
struct DeadlineHeap<Payload> {
    private var items: [(Instant, UInt64, Payload)] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var peek: (Instant, Payload)? { items.first.map { ($0.0, $0.2) } }
    /// The earliest deadline, without copying its payload.
    var firstDeadline: Instant? { items.isEmpty ? nil : items[0].0 }

    @inline(__always)
    private func less(_ a: (Instant, UInt64, Payload), _ b: (Instant, UInt64, Payload)) -> Bool {
        a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
    }

    mutating func push(_ at: Instant, _ payload: Payload) {
        sequence += 1
        items.append((at, sequence, payload))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    @discardableResult
    mutating func pop() -> (Instant, Payload)? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count && less(items[l], items[best]) { best = l }
                if r < items.count && less(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return (top.0, top.2)
    }
}
