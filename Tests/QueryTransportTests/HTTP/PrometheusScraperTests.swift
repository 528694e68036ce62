import Prometheus
import QueryCore
import QuerySQL
import Synchronization
import Testing

@testable import QueryTransport

@Suite struct PrometheusScraperTests {
    @Test func urlsAreParsed() throws {
        let a = try HTTPURL("http://127.0.0.1:9100/metrics")
        #expect(a.host == "127.0.0.1" && a.port == 9100 && a.target == "/metrics" && !a.isTLS)
        let b = try HTTPURL("https://[::1]/hook?x=1")
        #expect(b.host == "::1" && b.port == 443 && b.target == "/hook?x=1" && b.isTLS && b.hostHeader == "[::1]")
        #expect(try HTTPURL("HTTP://example.test").target == "/")
        let c = try HTTPURL("http://[::1]:8080?q")
        #expect(c.host == "::1" && c.port == 8080 && c.target == "/?q" && c.description == "http://[::1]:8080/?q")
        for bad in ["ftp://x/", "http://", "http://host:0/", "http://host:99999/", "http://u:p@host/", "http://[::1/"] {
            #expect(throws: QueryError.self, "\(bad)") { try HTTPURL(bad) }
        }
    }

    @Test func scrapesAMetricsServerOverLoopback() async throws {
        let registry = PrometheusCollectorRegistry()
        // Named through descriptors (the non-deprecated API); the help text adds `# HELP` lines,
        // which the scraper must skip like the `# TYPE` lines.
        let jobsDone = MetricNameDescriptor(metricName: "jobs_done", unitName: "", helpText: "Jobs finished.")
        let idleJobs = MetricNameDescriptor(metricName: "idle_jobs", unitName: "", helpText: "Jobs waiting, per pool.")
        registry.makeCounter(descriptor: jobsDone, labels: [("queue", "a\"b")]).increment(by: Int64(3))
        registry.makeGauge(descriptor: idleJobs, labels: [("pool", "x")]).set(25.0)
        registry.makeGauge(descriptor: idleJobs, labels: [("pool", "y")]).set(4.0)
        let server = MetricsServer(listen: Endpoint(host: "127.0.0.1", port: 0), registry: registry)
        let manager = QueryManager()
        try manager.registerMetric(
            "idle_jobs",
            schema: try Schema([("instance", .text), ("pool", .text), ("value", .real)]),
            publishers: .only(["scraper"])
        )
        let topic = try manager.registerStatement("select pool, value from idle_jobs where value > 20", owner: "ops")
        let alerts = try manager.subscribe(topic, as: "ops")

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { server.stop() }
            let port = try #require(await server.listeningPort())
            let scraper = PrometheusScraper(
                configuration: .init(url: try HTTPURL("http://127.0.0.1:\(port)/metrics")),
                now: { .seconds(1000) }
            )
            let published = try await scraper.scrape(into: manager.eventSink(as: "scraper"))
            #expect(published == 3)
            var iterator = alerts.makeAsyncIterator()
            let trigger = try #require(await iterator.next())
            #expect(trigger.rows == [["x", 25.0]])
            #expect(trigger.time == .seconds(1000))
            // The counter's stream was declared from the scrape, labels unescaped.
            #expect(manager.schema(ofMetric: "jobs_done")?.columnNames == ["instance", "queue", "value"])
            #expect(scraper.statistics.events == 3 && scraper.statistics.batches == 1)
            server.stop()
            try await group.waitForAll()
        }
    }

    @Test func aMalformedExpositionIsCountedWithItsLineAndTheNextScrapeGoesAhead() async throws {
        let body = Mutex("up 1\nbroken{ 2\n")
        let server = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { _ in
            HTTPResponse(status: 200, contentType: "text/plain", text: body.withLock { $0 })
        }
        let manager = QueryManager()
        let clock = ManualClock()
        try await withServer(server) { port in
            var configuration = PrometheusScraper.Configuration(url: try HTTPURL("http://127.0.0.1:\(port)/metrics"))
            configuration.interval = .seconds(15)
            let scraper = PrometheusScraper(configuration: configuration, clock: clock, now: { .seconds(5) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await scraper.run(into: manager.eventSink(as: "scraper")) }
                #expect(await eventually { scraper.statistics.rejected == 1 })
                let error = try #require(scraper.statistics.lastError)
                #expect(error.code == .decodingFailed)
                #expect(error.location?.line == 2)
                #expect(error.message.contains("line 2"))
                #expect(scraper.statistics.events == 0)
                // The next scrape comes one interval later, on the clock.
                body.withLock { $0 = "up 1\nup_total{job=\"x\"} 2\n" }
                #expect(await clock.waitForSleepers(atLeast: 1))
                clock.advance(by: .seconds(15))
                #expect(await eventually { scraper.statistics.batches == 1 })
                #expect(scraper.statistics.events == 2)
                #expect(manager.schema(ofMetric: "up_total")?.columnNames == ["instance", "job", "value"])
                group.cancelAll()
            }
        }
    }

    @Test func aRefusedConnectionIsCounted() async throws {
        // A port that was just free: nothing listens there.
        let server = HTTP1Server(listen: Endpoint(host: "127.0.0.1", port: 0)) { _ in HTTPResponse(status: 200) }
        let port = try await withServer(server) { $0 }
        let scraper = PrometheusScraper(configuration: .init(url: try HTTPURL("http://127.0.0.1:\(port)/metrics")))
        await #expect(throws: QueryError.self) { try await scraper.scrape(into: QueryManager().eventSink(as: "s")) }
        #expect(scraper.statistics.rejected == 1)
        #expect(scraper.statistics.lastError?.code == .unavailable)
    }
}
