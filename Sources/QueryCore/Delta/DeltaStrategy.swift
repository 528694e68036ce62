/// How keyed diffs and applies match rows by key: linear scans, a general hash table, a typed
/// table of integer keys, or chosen by the key and the sizes.
///
/// Every method gives identical results (the same rows in the same order, the same errors); tests
/// force each one on the same inputs to check that. Per-origin segments of the collection tree
/// hold a few dozen rows keyed by one integer column (`pid`), where a table of `Int64` keys on
/// the stack, or a scan, beats hashing whole key rows into a table on the heap.
enum DeltaStrategy: Sendable {
    /// Pick by key and size (what the public entry points use).
    case automatic
    /// Linear scans, whatever the size (quadratic: for tests and small inputs).
    case linear
    /// A hash table of row hashes (``RowIdentity``), whatever the key and size.
    case hashed
    /// Diffs with a table of `Int64` keys when the key is one integer column without nulls on both
    /// sides (otherwise ``hashed``); applies as ``automatic``.
    case integerKeys

    /// How a keyed diff matches rows.
    enum Matching {
        case linear
        case hashed
        case integerKeys
    }

    /// Segments with at most this many rows on each side are diffed by linear scans (when their key
    /// is not a single integer column).
    static let linearDiffRows = 32
    /// Deltas carrying at most this many rows are applied by linear search instead of hashing...
    static let linearApplyRows = 8
    /// ... as long as the linear search compares at most this many keys (held rows × carried rows).
    static let linearApplyComparisons = 2048

    /// How a keyed diff from `old` rows to `new` rows matches them; `integerKeys` says whether the
    /// key is one integer column without nulls in both segments.
    func diffMatching(old: Int, new: Int, integerKeys: Bool) -> Matching {
        switch self {
        case .automatic:
            if integerKeys { return .integerKeys }
            return old <= DeltaStrategy.linearDiffRows && new <= DeltaStrategy.linearDiffRows ? .linear : .hashed
        case .linear: return .linear
        case .hashed: return .hashed
        case .integerKeys: return integerKeys ? .integerKeys : .hashed
        }
    }

    /// Whether a keyed apply of `carried` rows to `held` rows searches linearly (never above 64
    /// carried rows: the linear path tracks them in a 64-bit set).
    func appliesLinearly(held: Int, carried: Int) -> Bool {
        switch self {
        case .automatic, .integerKeys:
            carried <= DeltaStrategy.linearApplyRows && carried * held <= DeltaStrategy.linearApplyComparisons
        case .linear: carried <= 64
        case .hashed: false
        }
    }
}
