extension TableCopy {
    /// The base version of a delta; `nil` for a full copy.
    var baseVersion: Version? { base }

    /// Whether this is a delta.
    var isDelta: Bool { !isFull }

    /// Rows carried (upserts plus deletes, or the full copy's rows).
    var rowsCarried: Int { carriedRowCount }

    /// An estimate of the copy's size on the wire (values plus a small header).
    var estimatedBytes: Int {
        switch self {
        case .full(_, let segment): 16 + segment.byteSize
        case .delta(_, _, let upserts, let deletes): 24 + upserts.byteSize + deletes.byteSize
        }
    }

    /// The copy that brings a receiver holding `base` to `target`, or `nil` if none can be made
    /// (target not newer, or a keyed segment holding a key twice): the caller then sends a full copy.
    static func between(
        base: (version: Version, segment: Segment),
        target: (version: Version, segment: Segment)
    ) -> TableCopy? {
        try? TableCopy.make(from: base, to: target)
    }
}
