/// When generations start and when each tier acts in them.
///
/// Generation numbers are derived from time (`floor((now − epoch) / interval) + 1`), so every node
/// agrees on the current generation without coordination. Sends are staggered per tier: edges at the
/// generation's start `t`, proxies by `t + proxyOffset` (δ1), TLAs by `t + aggregatorOffset` (δ2),
/// SQL nodes refresh interest and check their TLA at `t + queryOffset` (δ3). A proxy or TLA sends as
/// soon as its sources are complete and at its offset at the latest, so a silent source cannot stall
/// a generation.
public struct GenerationSchedule: Sendable, Hashable {
    /// A tier of the collection tree.
    public enum Tier: Sendable, Hashable, CaseIterable {
        /// Edge agents (offset zero).
        case edge
        /// Cluster proxies (δ1).
        case proxy
        /// Top-level aggregators and their children (δ2).
        case aggregator
        /// SQL nodes (δ3).
        case query
    }

    /// Time between generation starts. Default 120 s (the paper's); tests use 10 s or less.
    public var interval: Duration
    /// δ1: the latest a proxy sends after the generation start. Default `interval / 4`.
    public var proxyOffset: Duration
    /// δ2: the latest a TLA sends after the generation start. Default `interval / 2`.
    public var aggregatorOffset: Duration
    /// δ3: when a SQL node refreshes interest and checks its TLA. Default `interval * 3 / 4`.
    public var queryOffset: Duration
    /// The start of generation 1. Default the epoch.
    public var epoch: Instant

    /// Creates a schedule; offsets left `nil` default to a quarter, half and three quarters of `interval`.
    ///
    /// - Important: `interval` must be positive and offsets must lie in `0..<interval`; otherwise they
    ///   are clamped into that range.
    public init(
        interval: Duration = .seconds(120),
        proxyOffset: Duration? = nil,
        aggregatorOffset: Duration? = nil,
        queryOffset: Duration? = nil,
        epoch: Instant = .zero
    ) {
        let interval = interval > .zero ? interval : .seconds(1)
        func clamp(_ d: Duration) -> Duration { max(.zero, min(d, interval - .nanoseconds(1))) }
        self.interval = interval
        self.proxyOffset = clamp(proxyOffset ?? interval / 4)
        self.aggregatorOffset = clamp(aggregatorOffset ?? interval / 2)
        self.queryOffset = clamp(queryOffset ?? interval * 3 / 4)
        self.epoch = epoch
    }

    /// The offset of `tier` from a generation's start.
    public func offset(_ tier: Tier) -> Duration {
        switch tier {
        case .edge: .zero
        case .proxy: proxyOffset
        case .aggregator: aggregatorOffset
        case .query: queryOffset
        }
    }

    /// The number of the generation running at `now` (0 before the epoch).
    public func number(at now: Instant) -> UInt64 {
        let elapsed = now.nanosecondsSinceEpoch &- epoch.nanosecondsSinceEpoch
        guard elapsed >= 0 else { return 0 }
        return UInt64(elapsed / interval.nanoseconds) + 1
    }

    /// Generation `number` with its start time.
    public func generation(_ number: UInt64) -> Generation {
        let start = Int64(clamping: number == 0 ? 0 : number - 1).multipliedReportingOverflow(by: interval.nanoseconds)
        return Generation(
            number: number,
            time: epoch.advanced(by: .nanoseconds(start.overflow ? .max : start.partialValue))
        )
    }

    /// The generation running at `now`.
    public func current(at now: Instant) -> Generation { generation(number(at: now)) }

    /// When `tier` acts in generation `number`.
    public func slot(_ tier: Tier, of number: UInt64) -> Instant {
        generation(number).time + offset(tier)
    }

    /// The newest generation whose `tier` slot is at or before `now` (0 if none).
    public func latestSlot(_ tier: Tier, at now: Instant) -> UInt64 {
        number(at: now - offset(tier))
    }

    /// The first generation whose `tier` slot is strictly after `now`.
    public func nextSlot(_ tier: Tier, after now: Instant) -> UInt64 {
        latestSlot(tier, at: now) + 1
    }
}
