import QueryCore

/// One event as the engine holds it: the stream it belongs to, its time, its field values in
/// schema order and a sequence number unique within the engine.
struct Event: Sendable {
    /// Index of the event's stream in the engine's stream table.
    var stream: Int
    /// Event time (the engine's time when it entered).
    var time: Instant
    /// Unique, increasing per engine; identifies the event in windows and aggregates.
    var sequence: UInt64
    /// Field values in schema order.
    var values: [Value]
}

/// The events a row of a statement is made of: one event for a single stream, or one per
/// position (stream of a join, tag of a pattern) where unbound positions are `nil`.
enum Row: Sendable {
    case one(Event)
    case many([Event?])

    /// The event at `position`, if bound.
    @inline(__always)
    func event(_ position: Int) -> Event? {
        switch self {
        case .one(let e): return position == 0 ? e : nil
        case .many(let events): return position < events.count ? events[position] : nil
        }
    }

    /// The events as an array with `count` positions.
    func expanded(_ count: Int) -> [Event?] {
        switch self {
        case .one(let e):
            var result = [Event?](repeating: nil, count: max(count, 1))
            result[0] = e
            return result
        case .many(let events): return events
        }
    }
}

/// What a data window did with an event or a timer: events that entered and events that left.
struct WindowUpdate: Sendable {
    var entered: [Event] = []
    var left: [Event] = []

    var isEmpty: Bool { entered.isEmpty && left.isEmpty }
}
