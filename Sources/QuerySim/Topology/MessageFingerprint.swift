import QueryCore

/// Canonical, cheap descriptions of collection-tree messages for the trace hash: every field that
/// decides behaviour (generations, tables, origins, versions, row counts, completeness), in a fixed
/// order, without printing row contents or iterating dictionaries.
enum MessageFingerprint {
    static func describe(_ message: Message) -> String {
        switch message {
        case .heartbeat(let beat):
            return "heartbeat \(beat.generation)"
        case .request(let request):
            return "request \(request.tables.map(\.rawValue)) lease \(request.lease) reset \(request.reset) standby \(request.standby)"
        case .update(let update):
            return "update g\(update.generation.number) " + update.entries.map(describe).joined(separator: "; ")
        case .ack(let ack):
            return "ack g\(ack.generation) \(ack.tables.map(\.rawValue))"
        case .resync(let request):
            return "resync g\(request.generation) \(request.table) \(request.origins.map(\.rawValue))"
        case .redirect(let redirect):
            return "redirect \(redirect)"
        case .deferral(let deferral):
            return "deferral g\(deferral.generation.number) \(deferral.cluster) via \(deferral.proxy) "
                + deferral.entries.map(describe).joined(separator: "; ")
        case .combine(let request):
            return "combine g\(request.generation.number) reset \(request.reset) dropped \(request.droppedClusters)"
        case .query(let query):
            return "query \(query.request.id) \(query.request.sql)"
        case .queryResponse(let response):
            switch response.outcome {
            case .answer(let answer):
                return "response \(response.id) ok g\(answer.generation.number) rows \(answer.result.rows.count)"
            case .failure(let error):
                return "response \(response.id) error \(error)"
            case .redirect(let redirect):
                return "response \(response.id) redirect \(redirect)"
            }
        }
    }

    static func describe(_ entry: TableEntry) -> String {
        let copies = entry.copies.map { copy in
            let kind: String
            switch copy.copy {
            case .full(let version, let segment): kind = "full v\(version) r\(segment.rowCount)"
            case .delta(let base, let version, let upserts, let deletes):
                kind = "delta v\(base)→\(version) +\(upserts.rowCount) -\(deletes.rowCount)"
            }
            return "\(copy.origin) \(kind) @\(copy.publishedAt.nanosecondsSinceEpoch)"
        }
        let c = entry.completeness
        return "\(entry.table) [\(copies.joined(separator: ", "))] removed \(entry.removed.map(\.rawValue)) "
            + "scope \(entry.replacesScope) m\(c.machinesContributing)/\(c.machinesKnown) c\(c.clustersContributing)/\(c.clustersKnown) "
            + "dropped \(c.dropped)"
    }
}
