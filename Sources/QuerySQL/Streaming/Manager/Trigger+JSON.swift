import QueryCore

extension Trigger {
    /// The trigger as one JSON object, as the webhook sink posts it:
    /// `{"topic": "pq.…", "kind": "rows", "sequence": 3, "time": ms, "rows": [{"column": value, …}]}`
    /// (`time` in milliseconds since the epoch; non-finite reals as `null`).
    public var jsonText: String {
        let rows = rows.map { row in
            "{" + zip(columns, row).map { "\(JSONLine.quote($0.0)): \(JSONLine.encode($0.1))" }.joined(separator: ", ")
                + "}"
        }
        return "{\"topic\": \(JSONLine.quote(topic)), \"kind\": \"\(kind.rawValue)\", \"sequence\": \(sequence), "
            + "\"time\": \(time.milliseconds), \"rows\": [\(rows.joined(separator: ", "))]}"
    }
}
