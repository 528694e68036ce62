import QueryCore

/// A compiled pattern: streams resolved to stream indexes, tags to row positions, periods to
/// nanoseconds.
indirect enum PatternSpec: Sendable {
    case filter(stream: Int, position: Int, filter: CompiledExpression?)
    case every(PatternSpec)
    case not(PatternSpec)
    case and(PatternSpec, PatternSpec)
    case or(PatternSpec, PatternSpec)
    case followedBy(PatternSpec, PatternSpec)
    case within(PatternSpec, Int64)
    case interval(Int64)

    /// The streams the pattern listens to.
    var streams: Set<Int> {
        switch self {
        case .filter(let s, _, _): [s]
        case .every(let p), .not(let p), .within(let p, _): p.streams
        case .and(let a, let b), .or(let a, let b), .followedBy(let a, let b): a.streams.union(b.streams)
        case .interval: []
        }
    }
}

/// Runs one pattern: a tree of live sub-expression instances (Esper's evaluation model).
///
/// Each instance reports matches (with the tags bound so far) and its end to its parent:
/// - a filter matches its first event and ends;
/// - `every p` restarts `p` whenever an instance of `p` matches or ends without matching;
/// - `a -> b` starts a new `b` for each match of `a`, carrying `a`'s tags;
/// - `a and b` combines each match of one side with the matches of the other so far;
/// - `a or b` forwards the first match and stops the other side;
/// - `not p` is true at once and turns permanently false when `p` matches (an `and` containing
///   it then ends);
/// - `p where timer:within(d)` ends `p` after `d`; `timer:interval(d)` matches after `d`.
final class PatternMatcher {
    let spec: PatternSpec
    let width: Int
    /// Live filter instances per stream, in creation order.
    private(set) var listeners: [Int: [PatternNode]] = [:]
    private var root: PatternNode?
    /// Matches found while handling one event or timer.
    private(set) var matches: [[Event?]] = []
    private(set) var finished = false

    init(spec: PatternSpec, width: Int) {
        self.spec = spec
        self.width = width
    }

    func start(engine: StreamEngine) {
        let node = make(spec)
        node.isRoot = true
        root = node
        node.start([Event?](repeating: nil, count: width), engine: engine)
    }

    func stop() {
        root?.stop()
        root = nil
        listeners.removeAll()
    }

    /// Offers an event to every filter instance that was live before it arrived.
    func consume(_ event: Event, engine: StreamEngine) {
        guard let nodes = listeners[event.stream], !nodes.isEmpty else { return }
        for node in nodes where node.active {
            (node as? FilterNode)?.consume(event, engine: engine)
        }
        listeners[event.stream]?.removeAll { !$0.active }
    }

    /// Takes the matches collected so far.
    func takeMatches() -> [[Event?]] {
        defer { matches.removeAll() }
        return matches
    }

    private var registrations = 0

    func listen(_ node: FilterNode, stream: Int) {
        listeners[stream, default: []].append(node)
        registrations += 1
        // Filters that ended (a guard expired) stay listed until their stream's next event;
        // sweep every list now and then so a stream that stays silent cannot pile them up.
        if registrations % 1024 == 0 {
            for key in Array(listeners.keys) { listeners[key]!.removeAll { !$0.active } }
        }
    }

    func rootMatched(_ bindings: [Event?]) { matches.append(bindings) }
    func rootEnded() { finished = true }

    func make(_ spec: PatternSpec) -> PatternNode {
        switch spec {
        case .filter(let stream, let position, let filter):
            return FilterNode(matcher: self, stream: stream, position: position, filter: filter)
        case .every(let sub): return EveryNode(matcher: self, sub: sub)
        case .not(let sub): return NotNode(matcher: self, sub: sub)
        case .and(let a, let b): return AndNode(matcher: self, subs: [a, b])
        case .or(let a, let b): return OrNode(matcher: self, subs: [a, b])
        case .followedBy(let a, let b): return FollowedByNode(matcher: self, left: a, right: b)
        case .within(let sub, let ns): return WithinNode(matcher: self, sub: sub, duration: ns)
        case .interval(let ns): return IntervalNode(matcher: self, duration: ns)
        }
    }
}

/// One live instance of a pattern sub-expression.
class PatternNode {
    unowned let matcher: PatternMatcher
    weak var parent: PatternNode?
    var active = true
    var didMatch = false
    var bindings: [Event?] = []

    init(matcher: PatternMatcher) { self.matcher = matcher }

    func start(_ bindings: [Event?], engine: StreamEngine) { self.bindings = bindings }

    /// Stops this instance and its children without reporting.
    func stop() { active = false }

    func report(_ bindings: [Event?], engine: StreamEngine) {
        guard active else { return }
        didMatch = true
        if let parent { parent.childMatched(self, bindings, engine: engine) } else if isRoot { matcher.rootMatched(bindings) }
    }

    func end(failed: Bool, engine: StreamEngine) {
        guard active else { return }
        active = false
        if let parent { parent.childEnded(self, failed: failed, engine: engine) } else if isRoot { matcher.rootEnded() }
    }

    var isRoot = false

    func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {}
    func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {}

    func spawn(_ spec: PatternSpec, _ bindings: [Event?], engine: StreamEngine) -> PatternNode {
        let node = matcher.make(spec)
        node.parent = self
        node.start(bindings, engine: engine)
        return node
    }
}

final class FilterNode: PatternNode {
    let stream: Int
    let position: Int
    let filter: CompiledExpression?

    init(matcher: PatternMatcher, stream: Int, position: Int, filter: CompiledExpression?) {
        self.stream = stream
        self.position = position
        self.filter = filter
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        matcher.listen(self, stream: stream)
    }

    func consume(_ event: Event, engine: StreamEngine) {
        var b = bindings
        b[position] = event
        if let filter, !filter.isTrue(.many(b)) { return }
        report(b, engine: engine)
        end(failed: false, engine: engine)
    }
}

final class EveryNode: PatternNode {
    let sub: PatternSpec
    private var children: [PatternNode] = []
    private var starting = false

    init(matcher: PatternMatcher, sub: PatternSpec) {
        self.sub = sub
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        restart(engine: engine)
    }

    private func restart(engine: StreamEngine) {
        guard active else { return }
        starting = true
        let node = matcher.make(sub)
        node.parent = self
        children.append(node)
        node.start(bindings, engine: engine)
        starting = false
        if !node.active { children.removeAll { $0 === node } }
        if children.isEmpty { end(failed: false, engine: engine) }
    }

    override func stop() {
        active = false
        for c in children { c.stop() }
        children.removeAll()
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        report(bindings, engine: engine)
        // A child that matches while starting would restart forever (`every not A`): don't.
        if !starting { restart(engine: engine) }
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        children.removeAll { $0 === child }
        if starting { return }
        if !child.didMatch { restart(engine: engine) }
        if children.isEmpty && active { end(failed: false, engine: engine) }
    }
}

final class NotNode: PatternNode {
    let sub: PatternSpec
    private var child: PatternNode?

    init(matcher: PatternMatcher, sub: PatternSpec) {
        self.sub = sub
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        report(bindings, engine: engine)
        guard active else { return }
        child = spawn(sub, bindings, engine: engine)
    }

    override func stop() {
        active = false
        child?.stop()
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        child.stop()
        end(failed: true, engine: engine)
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        end(failed: false, engine: engine)
    }
}

final class AndNode: PatternNode {
    let subs: [PatternSpec]
    private var children: [PatternNode] = []
    private var matchesBySide: [[[Event?]]]
    private var done: [Bool]

    init(matcher: PatternMatcher, subs: [PatternSpec]) {
        self.subs = subs
        self.matchesBySide = Array(repeating: [], count: subs.count)
        self.done = Array(repeating: false, count: subs.count)
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        for spec in subs {
            let node = matcher.make(spec)
            node.parent = self
            children.append(node)
        }
        for node in children where active { node.start(bindings, engine: engine) }
    }

    override func stop() {
        active = false
        for c in children { c.stop() }
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        guard let side = children.firstIndex(where: { $0 === child }) else { return }
        matchesBySide[side].append(bindings)
        // Combine with every match of every other side (all sides have matched at least once).
        var combinations: [[Event?]] = [bindings]
        for other in children.indices where other != side {
            var next: [[Event?]] = []
            for partial in combinations {
                for m in matchesBySide[other] { next.append(merge(partial, m)) }
            }
            combinations = next
        }
        for c in combinations { report(c, engine: engine) }
    }

    private func merge(_ a: [Event?], _ b: [Event?]) -> [Event?] {
        var result = a
        for i in result.indices where result[i] == nil && i < b.count { result[i] = b[i] }
        return result
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        guard let side = children.firstIndex(where: { $0 === child }) else { return }
        done[side] = true
        if failed || !child.didMatch || done.allSatisfy({ $0 }) {
            stop()
            active = true
            end(failed: failed, engine: engine)
        }
    }
}

final class OrNode: PatternNode {
    let subs: [PatternSpec]
    private var children: [PatternNode] = []

    init(matcher: PatternMatcher, subs: [PatternSpec]) {
        self.subs = subs
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        for spec in subs {
            let node = matcher.make(spec)
            node.parent = self
            children.append(node)
        }
        for node in children where active && node.parent != nil { node.start(bindings, engine: engine) }
    }

    override func stop() {
        active = false
        for c in children { c.stop() }
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        for c in children where c !== child {
            c.stop()
            c.parent = nil
        }
        children.removeAll { $0 !== child }
        report(bindings, engine: engine)
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        children.removeAll { $0 === child }
        if children.isEmpty { end(failed: false, engine: engine) }
    }
}

final class FollowedByNode: PatternNode {
    let left: PatternSpec
    let right: PatternSpec
    private var leftNode: PatternNode?
    private var rights: [PatternNode] = []

    init(matcher: PatternMatcher, left: PatternSpec, right: PatternSpec) {
        self.left = left
        self.right = right
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        let node = matcher.make(left)
        node.parent = self
        leftNode = node
        node.start(bindings, engine: engine)
        if !node.active && leftNode === node { leftNode = nil }
        checkEnd(engine: engine)
    }

    override func stop() {
        active = false
        leftNode?.stop()
        for r in rights { r.stop() }
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        if child === leftNode {
            let node = matcher.make(right)
            node.parent = self
            rights.append(node)
            node.start(bindings, engine: engine)
            if !node.active { rights.removeAll { $0 === node } }
        } else {
            report(bindings, engine: engine)
        }
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        if child === leftNode { leftNode = nil } else { rights.removeAll { $0 === child } }
        checkEnd(engine: engine)
    }

    private func checkEnd(engine: StreamEngine) {
        if active && leftNode == nil && rights.isEmpty { end(failed: false, engine: engine) }
    }
}

final class WithinNode: PatternNode, TimerTarget {
    let sub: PatternSpec
    let duration: Int64
    private var child: PatternNode?

    init(matcher: PatternMatcher, sub: PatternSpec, duration: Int64) {
        self.sub = sub
        self.duration = duration
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        let deadline = (engine.now ?? .zero).advanced(by: .nanoseconds(duration))
        engine.schedule(self, at: deadline)
        child = spawn(sub, bindings, engine: engine)
    }

    override func stop() {
        active = false
        child?.stop()
    }

    override func childMatched(_ child: PatternNode, _ bindings: [Event?], engine: StreamEngine) {
        report(bindings, engine: engine)
    }

    override func childEnded(_ child: PatternNode, failed: Bool, engine: StreamEngine) {
        end(failed: failed, engine: engine)
    }

    func timerFired(at time: Instant, engine: StreamEngine) {
        guard active else { return }
        child?.stop()
        end(failed: false, engine: engine)
    }
}

final class IntervalNode: PatternNode, TimerTarget {
    let duration: Int64

    init(matcher: PatternMatcher, duration: Int64) {
        self.duration = duration
        super.init(matcher: matcher)
    }

    override func start(_ bindings: [Event?], engine: StreamEngine) {
        self.bindings = bindings
        engine.schedule(self, at: (engine.now ?? .zero).advanced(by: .nanoseconds(duration)))
    }

    func timerFired(at time: Instant, engine: StreamEngine) {
        guard active else { return }
        report(bindings, engine: engine)
        end(failed: false, engine: engine)
    }
}
