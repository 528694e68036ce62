public import QueryCore

/// How scraped Prometheus samples become events.
///
/// - **One stream per sample name.** `http_requests_total{method="get"} 12` goes to the stream
///   `http_requests_total`; a histogram's `x_bucket`, `x_sum` and `x_count` are three streams
///   (so `le` is a field of `x_bucket` only). `:` in a name (recording rules) becomes `_`, since
///   `:` separates a window in a statement. ``streamPrefix`` is put in front of every name.
/// - **Fields**: ``instanceField`` (`TEXT`, the scrape target, e.g. `host:9100`), one `TEXT`
///   field per label, and ``valueField`` (`REAL`; `NaN` and `±Inf` are kept as reals). A label
///   named like the instance or value field is stored as `exported_<label>`, as Prometheus
///   itself does.
/// - **Schema**: a stream registered beforehand keeps its schema (its label fields choose the
///   labels); otherwise it is declared on first sight with the labels of its first sample,
///   sorted by name. A sample without some label has `NULL` there; a sample with a label the
///   stream lacks is refused (counted, with the line, in the source's statistics), never
///   silently cut.
/// - **Time**: the sample's timestamp if it has one, else the scrape time.
public struct PrometheusEventMapping: Sendable {
    /// Put in front of every stream name. Default empty.
    public var streamPrefix = ""
    /// The field holding the scrape target, or `nil` for none. Default `instance`.
    public var instanceField: String? = "instance"
    /// The field holding the sample value. Default `value`.
    public var valueField = "value"
    /// The sample names to keep (before the prefix), or `nil` for all. Default `nil`.
    public var sampleNames: Set<String>?

    /// The default mapping.
    public init() {}

    /// The stream a sample name goes to.
    public func streamName(of sampleName: String) -> String {
        streamPrefix + String(sampleName.map { $0 == ":" ? "_" : $0 })
    }

    /// The field a label is stored in.
    public func fieldName(ofLabel label: String) -> String {
        let lowered = label.lowercased()
        if lowered == valueField.lowercased() || lowered == instanceField?.lowercased() { return "exported_" + label }
        return label
    }

    /// The schema a stream is declared with on first sight of `sample`.
    ///
    /// - Throws: ``QueryError`` `.invalidSchema` for clashing names.
    public func schema(for sample: PrometheusSample) throws(QueryError) -> Schema {
        var columns: [ColumnDefinition] = []
        if let instanceField { columns.append(ColumnDefinition(instanceField, .text)) }
        for label in sample.labels.map(\.name).sorted() {
            columns.append(ColumnDefinition(fieldName(ofLabel: label), .text))
        }
        columns.append(ColumnDefinition(valueField, .real))
        return try Schema(columns)
    }

    /// The result of mapping one scrape: events ready to publish, and the samples refused.
    public struct Outcome: Sendable {
        /// Events in sample order.
        public var events: [SourceEvent] = []
        /// One error per refused sample, naming its line.
        public var refused: [QueryError] = []
    }

    /// Maps every sample of `exposition` to an event, declaring streams in `sink` as needed.
    ///
    /// - Parameters:
    ///   - instance: the scrape target, stored in ``instanceField``.
    ///   - scrapeTime: the time of samples without a timestamp.
    public func events(
        from exposition: PrometheusExposition,
        instance: String,
        scrapeTime: Instant,
        declaringIn sink: some EventSink
    ) -> Outcome {
        var outcome = Outcome()
        var schemas: [String: Schema] = [:]
        for family in exposition.families {
            for sample in family.samples {
                if let sampleNames, !sampleNames.contains(sample.name) { continue }
                let stream = streamName(of: sample.name)
                do throws(QueryError) {
                    let schema: Schema
                    if let known = schemas[stream] ?? sink.schema(ofStream: stream) {
                        schema = known
                    } else {
                        schema = try self.schema(for: sample)
                        try sink.declareStream(stream, schema: schema)
                    }
                    schemas[stream] = schema
                    var fields: [(String, Value)] = []
                    fields.reserveCapacity(sample.labels.count + 2)
                    if let instanceField { fields.append((instanceField, .text(instance))) }
                    for label in sample.labels { fields.append((fieldName(ofLabel: label.name), .text(label.value))) }
                    fields.append((valueField, .real(sample.value)))
                    let time = sample.timestamp.map { Instant.milliseconds($0) } ?? scrapeTime
                    outcome.events.append(try SourceEvent(stream: stream, time: time, fields: fields, schema: schema))
                } catch {
                    outcome.refused.append(
                        QueryError(error.code, "sample '\(sample.name)' at line \(sample.line): \(error.message)")
                    )
                }
            }
        }
        return outcome
    }
}
