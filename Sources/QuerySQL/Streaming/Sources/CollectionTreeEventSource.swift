public import QueryCore
import Synchronization

/// An ``EventSource`` over the collection tree: each new generation of the chosen tables becomes
/// events, one per row, on a stream named after the table.
///
/// A SQL node calls ``generationCompleted(_:generation:at:)`` whenever a generation is complete
/// (it only queues the catalog, so the node never waits), and ``run(into:)`` turns queued
/// generations into events. ``publish(_:generation:at:into:)`` does the same synchronously, for
/// callers that drive time themselves (tests, the simulator).
///
/// Mapping:
/// - a table `T` becomes the stream ``Configuration/streamNames``[`T`] (default: `T`'s name), with
///   the table's columns as fields (same names and types) and, if ``Configuration/originField``
///   is set, one more `TEXT` field holding the row's origin (the machine that published it);
/// - every row of the generation is one event, origins in order and rows in segment order, so a
///   table of 1,000 machines × 50 rows gives 50,000 events per generation;
/// - the event time is the generation's start (``Configuration/EventTime/generationStart``,
///   the default) or the time it completed at the node;
/// - a generation whose number is not above the last one published is skipped, so a repeated
///   call never doubles events; a table missing from a generation gives no events.
///
/// Streams are declared on first sight with the table's schema; register them yourself first
/// (``QueryManager/registerMetric(_:schema:publishers:)``) to register statements before the
/// first generation arrives. A table whose schema no longer matches its stream is rejected (and
/// counted) while the other tables go on.
public final class CollectionTreeEventSource: EventSource {
    /// What becomes events, and how.
    public struct Configuration: Sendable {
        /// Which time an event carries.
        public enum EventTime: Sendable, Hashable {
            /// The generation's start, the same for every node (``QueryCore/Generation/time``).
            case generationStart
            /// When the generation completed at the node (the `at` of each call).
            case completion
        }

        /// The tables turned into streams, in this order.
        public var tables: [TableName]
        /// The stream of each table, where it is not the table's own name.
        public var streamNames: [TableName: String] = [:]
        /// An extra `TEXT` field holding each row's origin, or `nil` for none. Default `nil`.
        public var originField: String?
        /// Default ``EventTime/generationStart``.
        public var eventTime = EventTime.generationStart
        /// Generations ``run(into:)`` has not reached yet before the oldest is dropped. Default 2.
        public var maximumPendingGenerations = 2

        /// Streams for `tables`, named after them.
        public init(tables: [TableName]) { self.tables = tables }

        /// The stream of `table`.
        public func streamName(of table: TableName) -> String { streamNames[table] ?? table.rawValue }
    }

    struct Pending: Sendable {
        var catalog: any TableCatalog
        var generation: Generation
        var time: Instant
    }

    struct State {
        var statistics = EventSourceStatistics()
        var lastGeneration: UInt64?
    }

    /// The configuration.
    public let configuration: Configuration
    private let state = Mutex(State())
    private let pending: AsyncStream<Pending>
    private let continuation: AsyncStream<Pending>.Continuation
    private let running = Mutex(false)

    /// Creates a source.
    public init(configuration: Configuration) {
        self.configuration = configuration
        (pending, continuation) = AsyncStream.makeStream(
            of: Pending.self,
            bufferingPolicy: .bufferingNewest(max(1, configuration.maximumPendingGenerations))
        )
    }

    public var statistics: EventSourceStatistics { state.withLock { $0.statistics } }

    /// Hands over a completed generation without waiting: it is queued for ``run(into:)``.
    ///
    /// - Parameters:
    ///   - catalog: the generation's tables (a SQL node's ``QueryCore/SnapshotCatalog``).
    ///   - generation: its number and start time.
    ///   - time: when it completed at the node.
    public func generationCompleted(_ catalog: some TableCatalog, generation: Generation, at time: Instant) {
        if case .dropped = continuation.yield(Pending(catalog: catalog, generation: generation, time: time)) {
            state.withLock { $0.statistics.dropped += 1 }
        }
    }

    /// Ends the source: ``run(into:)`` returns once the queued generations are published.
    public func finish() { continuation.finish() }

    /// Publishes queued generations until ``finish()`` or cancellation.
    ///
    /// - Throws: ``QueryError`` `.invalidArgument` if the source is already running.
    public func run(into sink: some EventSink) async throws(QueryError) {
        let claimed = running.withLock { running in
            defer { running = true }
            return !running
        }
        guard claimed else {
            throw QueryError(.invalidArgument, "this collection-tree event source is already running")
        }
        defer { running.withLock { $0 = false } }
        for await item in pending {
            // Failures are recorded in the statistics; the next generation is tried regardless.
            _ = try? publish(item.catalog, generation: item.generation, at: item.time, into: sink)
        }
    }

    /// Turns one generation into events and publishes them now.
    ///
    /// - Returns: the number of events published (0 for a generation already seen).
    /// - Throws: the first table's ``QueryError`` (schema conflict, refused publish), after the
    ///   other tables are published; it is also recorded in ``statistics``.
    @discardableResult
    public func publish(
        _ catalog: some TableCatalog,
        generation: Generation,
        at time: Instant,
        into sink: some EventSink
    ) throws(QueryError) -> Int {
        let fresh = state.withLock { state in
            if let last = state.lastGeneration, generation.number <= last { return false }
            state.lastGeneration = generation.number
            return true
        }
        guard fresh else { return 0 }
        let eventTime = configuration.eventTime == .generationStart ? generation.time : time
        var published = 0
        var firstError: QueryError?
        for name in configuration.tables {
            guard let table = catalog.table(name) else { continue }
            do throws(QueryError) {
                let stream = configuration.streamName(of: name)
                try sink.declareStream(stream, schema: try streamSchema(of: table))
                let events = Self.events(
                    of: table,
                    stream: stream,
                    originField: configuration.originField != nil,
                    at: eventTime
                )
                try sink.publish(events)
                published += events.count
                state.withLock {
                    $0.statistics.events += events.count
                    $0.statistics.batches += 1
                }
            } catch {
                let located = QueryError(
                    error.code,
                    "generation \(generation.number), table '\(name)': \(error.message)"
                )
                firstError = firstError ?? located
                state.withLock {
                    $0.statistics.rejected += 1
                    $0.statistics.lastError = located
                }
            }
        }
        if let firstError { throw firstError }
        return published
    }

    /// The schema of the stream a table becomes: its columns, then the origin field if configured.
    ///
    /// - Throws: ``QueryError`` `.invalidSchema` if the origin field's name is taken.
    public func streamSchema(of table: Table) throws(QueryError) -> Schema {
        var columns = table.schema.columns
        if let origin = configuration.originField { columns.append(ColumnDefinition(origin, .text, nullable: false)) }
        return try Schema(columns)
    }

    /// One event per row of `table`, origins in order.
    static func events(of table: Table, stream: String, originField: Bool, at time: Instant) -> [SourceEvent] {
        var events: [SourceEvent] = []
        events.reserveCapacity(table.rowCount)
        for origin in table.sortedOrigins {
            guard let segment = table.slices[origin]?.segment else { continue }
            for row in 0..<segment.rowCount {
                var values = segment.row(row)
                if originField { values.append(.text(origin.rawValue)) }
                events.append(SourceEvent(stream: stream, time: time, values: values))
            }
        }
        return events
    }
}
