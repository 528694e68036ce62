import Synchronization

/// What an evaluator derives from one version of one table (for the SQL engine: the table's rows
/// consolidated into a scan-ready relation), kept next to the table in the catalog.
///
/// A catalog hands out one instance per table *version*: every query over that version (on any
/// thread, through any copy of the catalog) finds what the first one derived, and a changed table
/// gets a fresh, empty instance, so nothing derived from older rows can be served. What was derived
/// goes away with the last catalog copy holding that version.
public final class DerivedTableData: Sendable {
    private let values = Mutex<[ObjectIdentifier: any Sendable]>([:])

    /// An empty instance, for a new table version.
    public init() {}

    /// The value of type `T` derived from the table, made by `make` on first use.
    ///
    /// `make` runs outside the lock, so two threads asking at once may both make one; the first
    /// stored is kept and returned to both (`make` must depend only on the table's rows).
    public func value<T: Sendable, E: Error>(_ type: T.Type, make: () throws(E) -> T) throws(E) -> T {
        let key = ObjectIdentifier(type)
        if let held = values.withLock({ $0[key] }) as? T { return held }
        let made = try make()
        return values.withLock { values in
            if let held = values[key] as? T { return held }
            values[key] = made
            return made
        }
    }

    /// The value of type `T` made so far, if any.
    public func existing<T: Sendable>(_ type: T.Type) -> T? {
        values.withLock { $0[ObjectIdentifier(type)] } as? T
    }
}
