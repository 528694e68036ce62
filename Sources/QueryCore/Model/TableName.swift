/// The name of a table or view. SQL names are case-insensitive, so the name is kept lower-cased.
///
/// Valid names are 1–128 characters of ASCII letters, digits, `_` and `.`, not starting with a
/// digit or `.`.
public struct TableName: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The normalised (lower-case) name.
    public let rawValue: String
    /// The name's hash, computed once: table names key the roles' dictionaries on every hot path.
    private let nameHash: Int

    /// Creates a table name from outside input, validating it.
    ///
    /// - Throws: ``QueryError`` with code `.invalidArgument` naming the offending character.
    public init(validating name: String) throws(QueryError) {
        if let problem = TableName.problem(in: name) {
            throw QueryError(.invalidArgument, "invalid table name '\(name)': \(problem)")
        }
        self.rawValue = name.lowercased()
        self.nameHash = rawValue.hashValue
    }

    /// Creates a table name from a literal in code.
    ///
    /// - Important: The literal must be a valid name; use ``init(validating:)`` for outside input.
    public init(stringLiteral value: String) {
        precondition(TableName.problem(in: value) == nil, "invalid table name literal '\(value)'")
        self.rawValue = value.lowercased()
        self.nameHash = rawValue.hashValue
    }

    /// Creates a table name without validation, for names that were already validated (decoders, parsers).
    package init(unchecked name: String) {
        self.rawValue = name.lowercased()
        self.nameHash = rawValue.hashValue
    }

    /// Why `name` is not a valid table name, or `nil` if it is.
    public static func problem(in name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "empty" }
        if bytes.count > 128 { return "longer than 128 characters" }
        for (index, byte) in bytes.enumerated() {
            let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
            let isDigit = byte >= 0x30 && byte <= 0x39
            let isDot = byte == 0x2E
            if index == 0 && !isLetter { return "must start with a letter or '_'" }
            if !(isLetter || isDigit || isDot) { return "character \(index + 1) is not a letter, digit, '_' or '.'" }
        }
        return nil
    }

    public var description: String { rawValue }

    public func hash(into hasher: inout Hasher) { hasher.combine(nameHash) }

    public static func == (lhs: TableName, rhs: TableName) -> Bool {
        lhs.nameHash == rhs.nameHash && lhs.rawValue == rhs.rawValue
    }

    public static func < (lhs: TableName, rhs: TableName) -> Bool { lhs.rawValue < rhs.rawValue }
}
