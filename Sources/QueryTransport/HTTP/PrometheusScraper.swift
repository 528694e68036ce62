import NIOCore
import NIOPosix
public import QueryCore
public import QuerySQL
import Synchronization

/// An ``QuerySQL/EventSource`` that scrapes a Prometheus text endpoint (`GET /metrics`) at an
/// interval and publishes every sample as an event (mapping: ``QuerySQL/PrometheusEventMapping``:
/// one stream per sample name, the target in `instance`, labels as `TEXT` fields, `value` as
/// `REAL`).
///
/// A failed scrape (connection refused, non-2xx status, malformed exposition) publishes nothing,
/// is counted as rejected with its reason in ``statistics``, and the next scrape goes ahead at the
/// next interval; refused samples are counted one by one. Scrapes reuse one kept-alive connection
/// (``HTTP1Client``), closed when ``run(into:)`` ends.
public final class PrometheusScraper: EventSource {
    /// What to scrape and how often.
    public struct Configuration: Sendable {
        /// The target, e.g. `http://127.0.0.1:9100/metrics`.
        public var url: HTTPURL
        /// Time between the starts of two scrapes. Default 15 s.
        public var interval: Duration = .seconds(15)
        /// The value of the instance field. Default the URL's `host:port`.
        public var instance: String
        /// How samples become events.
        public var mapping = PrometheusEventMapping()
        /// Timeout and size limit of one scrape. Default 10 s, 16 MiB.
        public var http = HTTP1Client.Configuration()

        /// Scrapes `url` with the defaults.
        public init(url: HTTPURL) {
            self.url = url
            self.instance = "\(url.host):\(url.port)"
        }
    }

    /// The configuration.
    public let configuration: Configuration
    private let client: HTTP1Client
    private let pacer: Pacer
    private let now: @Sendable () -> Instant
    private let counters = Mutex(EventSourceStatistics())

    /// Creates a scraper.
    ///
    /// - Parameters:
    ///   - clock: paces the scrapes (a test clock in tests). Default `ContinuousClock`.
    ///   - now: the time of samples without a timestamp. Default the wall clock.
    public init<C: Clock>(
        configuration: Configuration,
        clock: C = ContinuousClock(),
        now: @escaping @Sendable () -> Instant = { Instant.wallClockNow() },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) where C.Duration == Duration {
        self.configuration = configuration
        self.client = HTTP1Client(configuration: configuration.http, eventLoopGroup: eventLoopGroup)
        self.pacer = Pacer(clock)
        self.now = now
    }

    public var statistics: EventSourceStatistics { counters.withLock { $0 } }

    /// Scrapes now, then every ``Configuration/interval``, until cancelled.
    public func run(into sink: some EventSink) async throws(QueryError) {
        defer { client.closeIdleConnections() }
        var next = pacer.elapsed()
        while !Task.isCancelled {
            do throws(QueryError) {
                try await scrape(into: sink)
            } catch let error where error.code == .cancelled {
                return
            } catch {
                // Recorded in the statistics; the next scrape goes ahead.
            }
            // Scrapes keep their rhythm; one that overran its interval is followed at once.
            next = max(next + configuration.interval, pacer.elapsed())
            do { try await pacer.sleep(next - pacer.elapsed()) } catch { return }
        }
    }

    /// Scrapes once and publishes the samples.
    ///
    /// - Returns: the number of events published.
    /// - Throws: ``QueryCore/QueryError`` for a failed fetch, a non-2xx status or a malformed
    ///   exposition (with its line and column); it is also counted in ``statistics``.
    @discardableResult
    public func scrape(into sink: some EventSink) async throws(QueryError) -> Int {
        do throws(QueryError) {
            let url = configuration.url
            let response = try await client.send(
                "GET",
                to: url,
                headers: [("Accept", "text/plain; version=0.0.4")]
            )
            guard response.isSuccess else {
                throw QueryError(.unavailable, "GET \(url) answered \(response.status)")
            }
            guard let text = String(validating: response.body, as: UTF8.self) else {
                throw QueryError(.decodingFailed, "GET \(url): the exposition is not valid UTF-8")
            }
            let exposition: PrometheusExposition
            do throws(QueryError) { exposition = try PrometheusExposition.parse(text) } catch {
                throw QueryError(error.code, "GET \(url): \(error.message)", at: error.location)
            }
            let outcome = configuration.mapping.events(
                from: exposition,
                instance: configuration.instance,
                scrapeTime: now(),
                declaringIn: sink
            )
            try sink.publish(outcome.events)
            counters.withLock { c in
                c.events += outcome.events.count
                c.batches += 1
                c.rejected += outcome.refused.count
                if let last = outcome.refused.last { c.lastError = last }
            }
            return outcome.events.count
        } catch {
            if error.code != .cancelled {
                counters.withLock { c in
                    c.rejected += 1
                    c.lastError = error
                }
            }
            throw error
        }
    }
}
