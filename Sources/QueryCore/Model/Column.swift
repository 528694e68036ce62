/// One column of a ``Segment``: a typed array plus an optional null bitmap.
///
/// Rows under a null hold a placeholder (0, 0.0, empty text, false) in the typed array, so inner
/// loops can run over the array and consult the bitmap only when ``nulls`` is not `nil`.
public struct Column: Sendable {
    /// The typed values.
    public enum Storage: Sendable {
        case integer([Int64])
        case real([Double])
        case text(TextColumn)
        case boolean([Bool])
        /// Values of any storage class (nulls are `.null` here and also flagged in the bitmap).
        case any([Value])
    }

    /// The values.
    public let storage: Storage
    /// Which rows are null; `nil` when none is.
    public let nulls: NullBitmap?
    /// The number of rows.
    public let count: Int

    /// A column from parts; `nulls` (if any) and `storage` must both have `count` rows.
    package init(storage: Storage, nulls: NullBitmap?, count: Int) {
        self.storage = storage
        self.nulls = (nulls?.nullCount ?? 0) == 0 ? nil : nulls
        self.count = count
    }

    /// The column's type.
    public var type: ColumnType {
        switch storage {
        case .integer: .integer
        case .real: .real
        case .text: .text
        case .boolean: .boolean
        case .any: .any
        }
    }

    /// Whether row `index` is null.
    @inlinable
    public func isNull(_ index: Int) -> Bool {
        nulls?.isNull(index) ?? false
    }

    /// The value of row `index`.
    @inlinable
    public subscript(index: Int) -> Value {
        if let nulls, nulls.isNull(index) { return .null }
        switch storage {
        case .integer(let values): return .integer(values[index])
        case .real(let values): return .real(values[index])
        case .text(let values): return .text(values[index])
        case .boolean(let values): return .boolean(values[index])
        case .any(let values): return values[index]
        }
    }

    /// An empty column of `type` (shared, so it costs no allocation).
    public static func empty(_ type: ColumnType) -> Column {
        switch type {
        case .integer: emptyInteger
        case .real: emptyReal
        case .text: emptyText
        case .boolean: emptyBoolean
        case .any: emptyAny
        }
    }

    private static let emptyInteger = Column(storage: .integer([]), nulls: nil, count: 0)
    private static let emptyReal = Column(storage: .real([]), nulls: nil, count: 0)
    private static let emptyText = Column(storage: .text(TextColumn()), nulls: nil, count: 0)
    private static let emptyBoolean = Column(storage: .boolean([]), nulls: nil, count: 0)
    private static let emptyAny = Column(storage: .any([]), nulls: nil, count: 0)
}

/// Accumulates values into a ``Column``, checking each against the column's type.
public struct ColumnBuilder: Sendable {
    private var storage: Column.Storage
    private var nulls = NullBitmap()
    private var hasNull = false
    /// The column's declared type.
    public let type: ColumnType
    /// Whether nulls are accepted.
    public let nullable: Bool
    /// Rows appended so far.
    public private(set) var count = 0

    /// Creates a builder for a column of `type`.
    public init(type: ColumnType, nullable: Bool = true, capacity: Int = 0) {
        self.type = type
        self.nullable = nullable
        switch type {
        case .integer: storage = .integer([])
        case .real: storage = .real([])
        case .text: storage = .text(TextColumn())
        case .boolean: storage = .boolean([])
        case .any: storage = .any([])
        }
        if capacity > 0 { reserveCapacity(capacity) }
    }

    /// Reserves room for `capacity` rows.
    public mutating func reserveCapacity(_ capacity: Int) {
        nulls.reserveCapacity(capacity)
        switch storage {
        case .integer(var v): storage = .boolean([]); v.reserveCapacity(capacity); storage = .integer(v)
        case .real(var v): storage = .boolean([]); v.reserveCapacity(capacity); storage = .real(v)
        case .text(var v): storage = .boolean([]); v.reserveCapacity(values: capacity, bytes: capacity * 8); storage = .text(v)
        case .boolean(var v): storage = .integer([]); v.reserveCapacity(capacity); storage = .boolean(v)
        case .any(var v): storage = .boolean([]); v.reserveCapacity(capacity); storage = .any(v)
        }
    }

    /// Appends one value, converting where the conversion loses nothing (an integer into a
    /// real column, 0/1 into a boolean column).
    ///
    /// - Throws: ``QueryError`` `.typeMismatch` if the value does not fit, or `.invalidArgument`
    ///   for a null in a non-nullable column. The builder is unchanged on error.
    public mutating func append(_ value: Value) throws(QueryError) {
        if case .null = value {
            guard nullable else { throw QueryError(.invalidArgument, "NULL in a NOT NULL column") }
            appendNull()
            return
        }
        // Switch over the value only and take the builder's array out of `storage` before appending
        // (as in `append(from:row:)`): a `(storage, value)` tuple would hold a second reference to
        // the array for the whole case body, so every append would copy it (quadratic time).
        switch value {
        case .integer(let x):
            if case .integer(var v) = storage {
                storage = .boolean([]); v.append(x); storage = .integer(v)
            } else if case .real(var v) = storage {
                storage = .boolean([]); v.append(Double(x)); storage = .real(v)
            } else if case .boolean(var v) = storage, x == 0 || x == 1 {
                storage = .integer([]); v.append(x == 1); storage = .boolean(v)
            } else if case .any(var v) = storage {
                storage = .boolean([]); v.append(value); storage = .any(v)
            } else {
                throw mismatch(value)
            }
        case .boolean(let x):
            if case .integer(var v) = storage {
                storage = .boolean([]); v.append(x ? 1 : 0); storage = .integer(v)
            } else if case .boolean(var v) = storage {
                storage = .integer([]); v.append(x); storage = .boolean(v)
            } else if case .any(var v) = storage {
                storage = .boolean([]); v.append(value); storage = .any(v)
            } else {
                throw mismatch(value)
            }
        case .real(let x):
            if case .real(var v) = storage {
                storage = .boolean([]); v.append(x); storage = .real(v)
            } else if case .any(var v) = storage {
                storage = .boolean([]); v.append(value); storage = .any(v)
            } else {
                throw mismatch(value)
            }
        case .text(let x):
            if case .text(var v) = storage {
                storage = .boolean([])
                defer { storage = .text(v) }
                try v.append(x)
            } else if case .any(var v) = storage {
                storage = .boolean([]); v.append(value); storage = .any(v)
            } else {
                throw mismatch(value)
            }
        case .null:
            break  // handled above
        }
        nulls.append(false)
        count += 1
    }

    private func mismatch(_ value: Value) -> QueryError {
        QueryError(.typeMismatch, "\(value.typeName) value '\(value.description.prefix(40))' in a \(type) column")
    }

    /// Appends a null (the caller has checked ``nullable``).
    public mutating func appendNull() {
        switch storage {
        case .integer(var v): storage = .boolean([]); v.append(0); storage = .integer(v)
        case .real(var v): storage = .boolean([]); v.append(0); storage = .real(v)
        case .text(var v): storage = .boolean([]); v.appendEmpty(); storage = .text(v)
        case .boolean(var v): storage = .integer([]); v.append(false); storage = .boolean(v)
        case .any(var v): storage = .boolean([]); v.append(.null); storage = .any(v)
        }
        nulls.append(true)
        hasNull = true
        count += 1
    }

    /// Appends row `index` of `column`, which must have this builder's type.
    public mutating func append(from column: Column, row index: Int) {
        if column.isNull(index) {
            appendNull()
            return
        }
        // Switch over the source only and take the builder's array out of `storage` before
        // appending: a `(storage, column.storage)` tuple would hold a second reference to the
        // array for the whole case body, so every append would copy it (quadratic time).
        switch column.storage {
        case .integer(let s):
            guard case .integer(var v) = storage else { return appendConverted(from: column, row: index) }
            storage = .boolean([])
            v.append(s[index])
            storage = .integer(v)
        case .real(let s):
            guard case .real(var v) = storage else { return appendConverted(from: column, row: index) }
            storage = .boolean([])
            v.append(s[index])
            storage = .real(v)
        case .text(let s):
            guard case .text(var v) = storage else { return appendConverted(from: column, row: index) }
            storage = .boolean([])
            s.withBytes(at: index) { try? v.append(bytes: $0) }
            storage = .text(v)
        case .boolean(let s):
            guard case .boolean(var v) = storage else { return appendConverted(from: column, row: index) }
            storage = .integer([])
            v.append(s[index])
            storage = .boolean(v)
        case .any:
            guard case .any(var v) = storage else { return appendConverted(from: column, row: index) }
            storage = .boolean([])
            v.append(column[index])
            storage = .any(v)
        }
        nulls.append(false)
        count += 1
    }

    /// Appends row `index` of a column of another type, through ``Value``.
    private mutating func appendConverted(from column: Column, row index: Int) {
        if case .any(var v) = storage {
            storage = .boolean([])
            v.append(column[index])
            storage = .any(v)
            nulls.append(false)
            count += 1
            return
        }
        // Different types: go through Value (cannot fail for the conversions we allow).
        try? append(column[index])
    }

    /// Returns the finished column and resets the builder.
    public mutating func finish() -> Column {
        let column = Column(storage: storage, nulls: hasNull ? nulls : nil, count: count)
        self = ColumnBuilder(type: type, nullable: nullable)
        return column
    }
}
