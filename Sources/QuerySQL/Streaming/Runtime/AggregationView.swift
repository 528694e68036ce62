import QueryCore

/// The part of an aggregating statement's data window that statements over the same stream with
/// the same filter, window, `WHERE`, `GROUP BY` and representative rule share (Esper's shared
/// "view resources"): the held events' times, groups and sequence numbers in one ring, the
/// numbering of groups (one ``GroupTable`` lookup per event, not one per statement) and each
/// group's latest event. Each statement (``FlatAggregationState``) keeps its own aggregates,
/// `HAVING`, output, expiry timing and a cursor into the ring: its window is the entries from its
/// cursor on, exactly what its own window would hold.
///
/// Sharing is invisible: every statement still receives the event through its own filter-index
/// entry and schedules its own expiries, so triggers come in the same order at the same times as
/// without sharing. A statement that joins an existing view starts with its cursor at the end of
/// the ring, so it never sees events from before it was created (as if its window were new);
/// entries are dropped once every statement's cursor has passed them, and a group number is
/// released when no held entry refers to it (by then every statement has emptied that group).
///
/// Only statements whose stream filter, `WHERE` and `GROUP BY` are deterministic share a view
/// (otherwise they could disagree on which events enter).
final class AggregationView {
    /// One held event: when it entered, its group (-1 if it failed `WHERE`), its sequence number.
    struct Entry {
        var time: Int64
        var group: Int32
        var sequence: UInt64
    }

    /// How the group key is found.
    private enum Key {
        /// No `GROUP BY`: one group, number 0.
        case none
        /// `GROUP BY field`.
        case field(Int)
        /// `GROUP BY expression`.
        case expression(CompiledExpression)
        /// Several `GROUP BY` expressions.
        case many([CompiledExpression])
    }

    let window: AggregatingInput.Window
    private let wherePredicate: EventPredicate?
    private let key: Key
    /// The field a `GROUP BY field` key is, else -1.
    private let keyField: Int
    /// Whether the statements group (a `GROUP BY`); without one, group 0 lives for ever.
    let isGrouped: Bool
    /// With `GROUP BY field` where the select lists and `HAVING` read no other field: that field.
    /// Then a group's representative only changes when an entering event's key value is not
    /// identical to the representative's, since any event with the same key value gives the same
    /// rows (storing each event would retain and release its values).
    let representativeKeyField: Int?

    /// The mutable state, behind a pointer the view owns so that statements read the ring through
    /// it without reference counting (``FlatAggregationState/shared``). Safety: the engine is
    /// single-threaded and no access spans a call out of the view or the statement reading it;
    /// the statements hold the view (``AggregatingInput/view``) for as long as they use the pointer.
    struct State {
        let isGrouped: Bool
        let representativeKeyField: Int?
        var groups: GroupTable
        var keyScratch: [Value]
        /// Plain storage (no uniqueness check per append or removal), freed with the view.
        var entries = Ring<Entry>()
        /// The absolute position of the oldest held entry (positions count every entry ever held).
        var base = 0
        /// Held entries per group number (plain storage: no uniqueness check per write; freed
        /// with the view).
        var held = PlainBuffer<Int32>()
        var representatives: [Event?] = []
        /// The representative's key value per group, when ``representativeKeyField`` is set.
        var representativeKeys: [Value] = []
        /// Per attached statement, the absolute position of its oldest entry; `Int.max` once
        /// detached (plain storage, read by every ``trim()``; freed with the view).
        var cursors = PlainBuffer<Int>(capacity: 4)
        var attached = 0
        /// The last event entered (sequence numbers start at 1), its group and position (-1: not held).
        var lastSequence: UInt64 = 0
        var lastGroup: Int32 = -1
        var lastPosition = -1

        /// Drops the entries before every attached cursor, releasing groups left without entries.
        @inline(__always)
        mutating func trim() {
            var low = Int.max
            for i in 0..<cursors.count where cursors[i] < low { low = cursors[i] }
            if base < low && !entries.isEmpty { drop(before: low) }
        }

        /// Drops the entries before absolute position `low`.
        @inline(never)
        private mutating func drop(before low: Int) {
            while base < low && !entries.isEmpty {
                let entry = entries.removeFirst()
                base &+= 1
                guard entry.group >= 0, isGrouped else { continue }
                let g = Int(entry.group)
                held[g] -= 1
                if held[g] == 0 {
                    groups.release(entry.group)
                    representatives[g] = nil
                    if representativeKeyField != nil { representativeKeys[g] = .null }
                }
            }
        }
    }

    let storage: UnsafeMutablePointer<State> = .allocate(capacity: 1)

    private var state: State {
        _read { yield storage.pointee }
        _modify { yield &storage.pointee }
    }

    deinit {
        storage.pointee.held.free()
        storage.pointee.cursors.free()
        storage.pointee.entries.free()
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    init(plan: StreamSelectPlan, window: AggregatingInput.Window) {
        self.window = window
        self.wherePredicate = plan.whereClause.map(EventPredicate.init)
        switch plan.groupBy.count {
        case 0: key = .none
        case 1:
            if case .field(0, let c) = plan.groupBy[0] { key = .field(c) } else { key = .expression(plan.groupBy[0]) }
        default: key = .many(plan.groupBy)
        }
        if case .field(let c) = key { keyField = c } else { keyField = -1 }
        isGrouped = !plan.groupBy.isEmpty
        representativeKeyField = Self.representativeKeyField(plan)
        storage.initialize(to: State(
            isGrouped: !plan.groupBy.isEmpty, representativeKeyField: representativeKeyField,
            groups: GroupTable(width: plan.groupBy.count),
            keyScratch: [Value](repeating: .null, count: plan.groupBy.count)))
        if !isGrouped {
            state.held.append(0)
            state.representatives.append(nil)
        }
    }

    /// The field whose value alone decides a group's rows (`GROUP BY field`, and the select list
    /// and `HAVING` read no other field outside aggregates), if any.
    static func representativeKeyField(_ plan: StreamSelectPlan) -> Int? {
        guard plan.groupBy.count == 1, case .field(0, let c) = plan.groupBy[0] else { return nil }
        var read = plan.selectExpressions
        if let having = plan.having {
            for case .general(let e) in AggregateCondition(having).parts { read.append(e) }
        }
        return read.allSatisfy { StreamEngine.fields(of: $0).allSatisfy { $0 == [0, c] } } ? c : nil
    }

    /// What decides whether two statements can share a view: the stream, the filter, the window,
    /// `WHERE`, `GROUP BY` and the representative rule, written out structurally; `nil` if the
    /// statement must not share (a non-deterministic filter).
    static func sharingKey(
        stream: Int, filter: CompiledExpression?, plan: StreamSelectPlan, window: AggregatingInput.Window
    ) -> String? {
        guard filter?.isDeterministic ?? true else { return nil }
        var text = "stream \(stream)\n"
        switch window {
        case .none: text += "window none\n"
        case .length(let n): text += "window length \(n)\n"
        case .time(let ns): text += "window time \(ns)\n"
        }
        text += "representative \(representativeKeyField(plan).map { String($0) } ?? "-")\n"
        dump(filter, to: &text)
        dump(plan.whereClause, to: &text)
        dump(plan.groupBy, to: &text)
        return text
    }

    // MARK: Statements

    /// Attaches a statement; returns its slot. Its window starts empty (at the end of the ring).
    func attach() -> Int {
        state.cursors.append(state.base + state.entries.count)
        state.attached += 1
        return state.cursors.count - 1
    }

    /// Detaches a statement: its cursor no longer holds entries back.
    func detach(_ slot: Int) {
        guard state.cursors[slot] != Int.max else { return }
        state.cursors[slot] = Int.max
        state.attached -= 1
        storage.pointee.trim()
    }

    /// How many statements are attached.
    var attachedCount: Int { state.attached }

    /// The absolute position of statement `slot`'s oldest entry.
    @inline(__always)
    func cursor(_ slot: Int) -> Int { state.cursors[slot] }

    /// Moves statement `slot`'s cursor (entries before it left its window) and drops entries no
    /// statement holds any more.
    @inline(__always)
    func advance(_ slot: Int, to position: Int) {
        let old = state.cursors[slot]
        state.cursors[slot] = position
        if old == state.base { storage.pointee.trim() }
    }

    /// The entry at absolute position `position` (held: at or after every attached cursor).
    @inline(__always)
    func entry(at position: Int) -> Entry { state.entries[position &- state.base] }

    /// The absolute position after the newest entry.
    @inline(__always)
    var end: Int { state.base &+ state.entries.count }

    /// The latest event of group `g` (a group with held entries, or group 0 without `GROUP BY`).
    @inline(__always)
    func representative(_ g: Int32) -> Event? { state.representatives[Int(g)] }

    /// Group numbers handed out so far: statements size their per-group arrays to this.
    var groupCapacity: Int { state.held.count }

    // MARK: Events

    /// Enters `event` (once per event, however many statements call it): its group (-1 if it fails
    /// `WHERE`) and its absolute position in the ring (-1 if the window does not hold it: no
    /// window, or a time window and the event failed `WHERE`).
    @inline(__always)
    func enter(_ event: Event, now: Instant) -> (group: Int32, position: Int) {
        if state.lastSequence == event.sequence { return (state.lastGroup, state.lastPosition) }
        return enterFirst(event, now: now)
    }

    func enterFirst(_ event: Event, now: Instant) -> (group: Int32, position: Int) {
        var group: Int32 = -1
        if wherePredicate?.isTrue(event) ?? true {
            let (g, isNew) = groupNumber(for: event)
            let gi = Int(g)
            if let c = representativeKeyField {
                let value = c < event.values.count ? event.values[c] : .null
                if isNew || !FlatAggregationState.identical(state.representativeKeys[gi], value) {
                    state.representatives[gi] = event
                    state.representativeKeys[gi] = value
                }
            } else {
                state.representatives[gi] = event
            }
            group = g
        }
        var position = -1
        switch window {
        case .none: break
        case .length:
            position = append(Entry(time: now.nanosecondsSinceEpoch, group: group, sequence: event.sequence))
        case .time:
            if group >= 0 {
                position = append(Entry(time: now.nanosecondsSinceEpoch, group: group, sequence: event.sequence))
            }
        }
        state.lastSequence = event.sequence
        state.lastGroup = group
        state.lastPosition = position
        return (group, position)
    }

    @inline(__always)
    private func append(_ entry: Entry) -> Int {
        if entry.group >= 0 && isGrouped { state.held[Int(entry.group)] += 1 }
        state.entries.append(entry)
        return state.base &+ state.entries.count &- 1
    }


    /// The event's group, and whether its number is new.
    private func groupNumber(for event: Event) -> (Int32, Bool) {
        let found: (Int32, Bool)
        if keyField >= 0 {
            found = state.groups.group(for: keyField < event.values.count ? event.values[keyField] : .null)
        } else {
            switch key {
            case .none: return (0, false)
            case .field(let c):
                found = state.groups.group(for: c < event.values.count ? event.values[c] : .null)
            case .expression(let e):
                found = state.groups.group(for: e.evaluate(.one(event)))
            case .many(let expressions):
                let row = Row.one(event)
                for j in expressions.indices { state.keyScratch[j] = expressions[j].evaluate(row) }
                let key = state.keyScratch
                found = key.withUnsafeBufferPointer { state.groups.group(for: $0) }
            }
        }
        if found.1 && Int(found.0) == state.held.count {
            state.held.append(0)
            state.representatives.append(nil)
            if representativeKeyField != nil { state.representativeKeys.append(.null) }
        } else if found.1 {
            state.representatives[Int(found.0)] = nil
            if representativeKeyField != nil { state.representativeKeys[Int(found.0)] = .null }
        }
        return found
    }
}
