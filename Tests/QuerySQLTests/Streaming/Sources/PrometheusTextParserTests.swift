import QueryCore
import Testing

@testable import QuerySQL

@Suite struct PrometheusTextParserTests {
    static let exposition = #"""
        # HELP http_requests_total The total number of HTTP requests.\nSecond line with a \\ backslash.
        # TYPE http_requests_total counter
        http_requests_total{method="post",code="200"} 1027 1395066363000
        http_requests_total{method="post",code="400"}    3 1395066363000

        # A plain comment
        msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
        metric_without_timestamp_and_labels 12.47
        something_weird{problem="division by zero"} +Inf -3982045
        not_a_number{a="b",} NaN
        minus_inf -Inf
        # TYPE http_request_duration_seconds histogram
        http_request_duration_seconds_bucket{le="0.05"} 24054
        http_request_duration_seconds_bucket{le="+Inf"} 144320
        http_request_duration_seconds_sum 53423
        http_request_duration_seconds_count 144320
        # TYPE rpc_duration_seconds summary
        rpc_duration_seconds{quantile="0.5"} 4773
        rpc_duration_seconds_sum 1.7560473e+07
        rpc_duration_seconds_count 2693
        job:up:sum{ job = "node" } 3
        """#

    @Test func parsesTheFormatsExample() throws {
        let parsed = try PrometheusExposition.parse(Self.exposition)
        #expect(
            parsed.families.map(\.name) == [
                "http_requests_total", "msdos_file_access_time_seconds", "metric_without_timestamp_and_labels",
                "something_weird", "not_a_number", "minus_inf", "http_request_duration_seconds", "rpc_duration_seconds",
                "job:up:sum",
            ]
        )
        let requests = parsed.families[0]
        #expect(requests.type == .counter)
        #expect(requests.help == "The total number of HTTP requests.\nSecond line with a \\ backslash.")
        #expect(requests.samples.count == 2)
        #expect(requests.samples[1].labels.map(\.name) == ["method", "code"])
        #expect(requests.samples[1].label("code") == "400")
        #expect(requests.samples[1].value == 3)
        #expect(requests.samples[1].timestamp == 1_395_066_363_000)
        #expect(requests.samples[1].line == 4)

        let msdos = parsed.families[1].samples[0]
        #expect(msdos.label("path") == #"C:\DIR\FILE.TXT"#)
        #expect(msdos.label("error") == "Cannot find file:\n\"FILE.TXT\"")
        #expect(msdos.value == 1.458255915e9)
        #expect(msdos.timestamp == nil)
        #expect(parsed.families[2].type == .untyped)
        #expect(parsed.families[3].samples[0].value == .infinity)
        #expect(parsed.families[3].samples[0].timestamp == -3_982_045)
        #expect(parsed.families[4].samples[0].value.isNaN)
        #expect(parsed.families[4].samples[0].labels.count == 1)
        #expect(parsed.families[5].samples[0].value == -.infinity)

        let histogram = parsed.families[6]
        #expect(histogram.type == .histogram)
        #expect(
            histogram.samples.map(\.name) == [
                "http_request_duration_seconds_bucket", "http_request_duration_seconds_bucket",
                "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
            ]
        )
        #expect(histogram.samples[1].label("le") == "+Inf")
        #expect(parsed.families[7].type == .summary)
        #expect(parsed.families[7].samples.count == 3)
        #expect(parsed.families[8].samples[0].label("job") == "node")
        #expect(parsed.samples.count == 15)
    }

    @Test func acceptsCRLFBlankLinesAndAnEmptyExposition() throws {
        #expect(try PrometheusExposition.parse("").families.isEmpty)
        #expect(try PrometheusExposition.parse("\n\n# only a comment\n").families.isEmpty)
        let parsed = try PrometheusExposition.parse("a 1\r\nb{} 2\r\n")
        #expect(parsed.samples.map(\.value) == [1, 2])
    }

    @Test(arguments: [
        ("a 1\nb{x=\"1\" 2\n", 2, 9, "expected ',' or '}'"),
        ("a 1\n\nb{x=\"\\q\"} 2\n", 3, 6, "invalid escape sequence"),
        ("ok 1\n9bad 1\n", 2, 1, "expected a metric name"),
        ("c{x=1} 2\n", 1, 5, "expected '\"'"),
        ("c{x=\"1\"} twelve\n", 1, 10, "'twelve' is not a number"),
        ("c 1 2 3\n", 1, 7, "unexpected text"),
        ("c 1 1.5\n", 1, 5, "is not a timestamp"),
        ("c\n", 1, 2, "expected a value"),
        ("c{x=\"1\",x=\"2\"} 1\n", 1, 9, "appears twice"),
        ("# TYPE c gauge\n# TYPE c counter\n", 2, 8, "second TYPE line"),
        ("c 1\n# TYPE c gauge\n", 2, 8, "after its samples"),
        ("# TYPE c meter\n", 1, 10, "unknown metric type"),
        ("# HELP c one\n# HELP c two\n", 2, 8, "second HELP line"),
        ("# HELP c bad \\t escape\n", 1, 14, "invalid escape sequence"),
        ("c{x=\"unterminated} 1\n", 1, 21, "unterminated label value"),
        ("c{1x=\"1\"} 1\n", 1, 3, "expected a label name"),
        ("c!1\n", 1, 2, "expected '{' or a blank"),
    ])
    func malformedInputIsATypedErrorWithItsPosition(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try PrometheusExposition.parse(text)
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.code == .decodingFailed)
            #expect(error.location?.line == line, "\(error)")
            #expect(error.location?.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(error.message.contains("line \(line)"), "\(error)")
        }
    }

    @Test func samplesMapToOneStreamPerSampleName() throws {
        let manager = QueryManager()
        let sink = manager.eventSink(as: "scraper")
        let parsed = try PrometheusExposition.parse(Self.exposition)
        let mapping = PrometheusEventMapping()
        let outcome = mapping.events(from: parsed, instance: "host:9100", scrapeTime: .seconds(100), declaringIn: sink)
        #expect(outcome.refused.isEmpty)
        #expect(outcome.events.count == 15)
        let schema = try #require(manager.schema(ofMetric: "http_requests_total"))
        #expect(schema.columnNames == ["instance", "code", "method", "value"])
        #expect(schema.columns.map(\.type) == [.text, .text, .text, .real])
        #expect(outcome.events[0].values == ["host:9100", "200", "post", 1027.0])
        #expect(outcome.events[0].time == .milliseconds(1_395_066_363_000))
        // No timestamp: the scrape time. ':' becomes '_' so the name works in a statement.
        #expect(outcome.events[3].time == .seconds(100))
        #expect(manager.schema(ofMetric: "job_up_sum")?.columnNames == ["instance", "job", "value"])
        #expect(
            manager.schema(ofMetric: "http_request_duration_seconds_bucket")?.columnNames == [
                "instance", "le", "value",
            ]
        )

        // A sample with a label its stream lacks is refused and named, never cut silently;
        // a missing label is NULL.
        let next = try PrometheusExposition.parse(
            "http_requests_total{method=\"get\"} 5\nhttp_requests_total{method=\"get\",code=\"200\",path=\"/\"} 6\n"
        )
        let second = mapping.events(from: next, instance: "host:9100", scrapeTime: .seconds(200), declaringIn: sink)
        #expect(second.events.count == 1)
        #expect(second.events[0].values == ["host:9100", nil, "get", 5.0])
        #expect(second.refused.count == 1)
        #expect(second.refused.first?.message.contains("line 2") == true)
        #expect(second.refused.first?.message.contains("no field 'path'") == true)
    }

    @Test func aMappingCanKeepSomeSamplesUnderAPrefix() throws {
        let manager = QueryManager()
        var mapping = PrometheusEventMapping()
        mapping.sampleNames = ["minus_inf", "not_a_number"]
        mapping.streamPrefix = "prom_"
        mapping.instanceField = nil
        let outcome = mapping.events(
            from: try PrometheusExposition.parse(Self.exposition),
            instance: "x",
            scrapeTime: .zero,
            declaringIn: manager.eventSink(as: "scraper")
        )
        #expect(outcome.events.map(\.stream) == ["prom_not_a_number", "prom_minus_inf"])
        #expect(manager.schema(ofMetric: "prom_not_a_number")?.columnNames == ["a", "value"])
        #expect(outcome.events[1].values == [.real(-.infinity)])
    }

    @Test func labelsNamedLikeTheFixedFieldsAreExported() throws {
        let mapping = PrometheusEventMapping()
        let sample = PrometheusSample(name: "up", labels: [("instance", "a"), ("value", "b")], value: 1)
        #expect(
            try mapping.schema(for: sample).columnNames == ["instance", "exported_instance", "exported_value", "value"]
        )
    }
}
