/// The one public error type of swift-query: a ``Code`` saying what went wrong, a message saying
/// where and why, an optional source location (for SQL) and an optional underlying cause.
///
/// Modelled on grpc-swift's `RPCError`: codes are a struct over a private enum, so new codes can
/// be added without breaking users who switch over them.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public var code: Code
    /// A human-readable description that names the offending input and where it was found.
    public var message: String
    /// Where in a SQL statement (or other text input) the problem was found, if known.
    public var location: SourceLocation?

    /// Creates an error.
    public init(_ code: Code, _ message: String, at location: SourceLocation? = nil) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String {
        // Messages that already place the location (`unknown column 'rs' at 1:18; did you mean …`) keep it once.
        if let location, !message.contains(" at \(location)") {
            return "\(code): \(message) at \(location)"
        }
        return "\(code): \(message)"
    }

    /// The kind of a ``QueryError``.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case invalidArgument, invalidSchema, schemaMismatch, typeMismatch, staleVersion
            case baseVersionMismatch, decodingFailed, compressionFailed, limitExceeded
            case syntaxError, unknownTable, unknownColumn, unknownFunction, ambiguousColumn
            case semanticError, runtimeError, unsupported, timeout, unavailable, redirect
            case alreadyExists, permissionDenied, cancelled, internalError
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        public var description: String { wrapped.rawValue }

        /// The code whose ``description`` is `name` (for decoding errors sent over the wire).
        package init?(named name: String) {
            guard let wrapped = Wrapped(rawValue: name) else { return nil }
            self.wrapped = wrapped
        }

        /// An argument from outside (a row, a name, a configuration value) is malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A schema is malformed (duplicate or empty column names, unknown key columns).
        public static let invalidSchema = Code(.invalidSchema)
        /// Data arrived with a schema different from the one already held for that table.
        public static let schemaMismatch = Code(.schemaMismatch)
        /// A value does not fit the column type it is stored in.
        public static let typeMismatch = Code(.typeMismatch)
        /// A copy older than (or as old as) the one held was offered; it is ignored.
        public static let staleVersion = Code(.staleVersion)
        /// A delta was offered whose base is not the version held; a full copy (resync) is needed.
        public static let baseVersionMismatch = Code(.baseVersionMismatch)
        /// Bytes from outside could not be decoded.
        public static let decodingFailed = Code(.decodingFailed)
        /// zlib failed to compress or inflate.
        public static let compressionFailed = Code(.compressionFailed)
        /// A declared size or count is above the configured limit.
        public static let limitExceeded = Code(.limitExceeded)
        /// SQL text could not be parsed.
        public static let syntaxError = Code(.syntaxError)
        /// A statement names a table or view that does not exist.
        public static let unknownTable = Code(.unknownTable)
        /// A statement names a column that does not exist.
        public static let unknownColumn = Code(.unknownColumn)
        /// A statement calls a function that does not exist.
        public static let unknownFunction = Code(.unknownFunction)
        /// A column name matches columns of several tables.
        public static let ambiguousColumn = Code(.ambiguousColumn)
        /// A statement is well-formed but meaningless (wrong argument count, misplaced aggregate, …).
        public static let semanticError = Code(.semanticError)
        /// Evaluation failed at run time (integer overflow in `sum`, …).
        public static let runtimeError = Code(.runtimeError)
        /// A feature outside the supported dialect.
        public static let unsupported = Code(.unsupported)
        /// A request did not complete in time.
        public static let timeout = Code(.timeout)
        /// The data or peer needed is not available.
        public static let unavailable = Code(.unavailable)
        /// The request must be sent to another node (table partitions).
        public static let redirect = Code(.redirect)
        /// Something with that name already exists.
        public static let alreadyExists = Code(.alreadyExists)
        /// The caller lacks the right to do this.
        public static let permissionDenied = Code(.permissionDenied)
        /// The request was cancelled.
        public static let cancelled = Code(.cancelled)
        /// A broken invariant inside swift-query (a bug): please report it.
        public static let internalError = Code(.internalError)
    }
}

/// A position in a text input: 1-based line and column, and the 0-based UTF-8 offset.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column number (in characters of that line).
    public var column: Int
    /// 0-based UTF-8 byte offset from the start of the input.
    public var offset: Int

    /// Creates a location.
    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(line):\(column)" }
}
