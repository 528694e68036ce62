public import QueryCore

/// One notification on a topic: rows a persistent query produced, or a snapshot query's state
/// change.
public struct Trigger: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable {
        /// A continuous query produced rows.
        case rows
        /// A snapshot query started returning rows (the alert is raised).
        case raised
        /// A raised snapshot query returned different rows.
        case updated
        /// A snapshot query stopped returning rows (the alert clears); `rows` is empty.
        case cleared
    }

    /// The topic the trigger was published on.
    public var topic: String
    public var kind: Kind
    /// Per-topic sequence number, from 1 (gaps show dropped triggers).
    public var sequence: UInt64
    /// Engine time (continuous) or generation time (snapshot).
    public var time: Instant
    public var columns: [String]
    public var rows: [[Value]]

    /// Creates a trigger.
    public init(topic: String, kind: Kind, sequence: UInt64, time: Instant, columns: [String], rows: [[Value]]) {
        self.topic = topic
        self.kind = kind
        self.sequence = sequence
        self.time = time
        self.columns = columns
        self.rows = rows
    }
}

/// Who is asking: a client identity as established by the transport (certificate, token, or a
/// name for in-process users).
public struct Principal: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var name: String

    /// Creates a principal.
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }

    public var description: String { name }
}

/// Who may do something: anyone, or only the listed principals.
public enum AccessList: Sendable, Hashable {
    case anyone
    case only(Set<Principal>)

    /// Whether `principal` is allowed.
    public func allows(_ principal: Principal) -> Bool {
        switch self {
        case .anyone: true
        case .only(let set): set.contains(principal)
        }
    }
}

/// The rights on a topic.
public struct TopicAccess: Sendable, Hashable {
    /// Who may publish triggers to the topic by hand (the engine always may).
    public var publishers: AccessList
    /// Who may subscribe.
    public var subscribers: AccessList

    /// Creates rights.
    public init(publishers: AccessList, subscribers: AccessList) {
        self.publishers = publishers
        self.subscribers = subscribers
    }

    /// Only the registering principal may publish or subscribe.
    public static func owner(_ principal: Principal) -> TopicAccess {
        TopicAccess(publishers: .only([principal]), subscribers: .only([principal]))
    }

    /// The owner publishes; anyone subscribes.
    public static func publicRead(owner: Principal) -> TopicAccess {
        TopicAccess(publishers: .only([owner]), subscribers: .anyone)
    }
}

/// A registered statement's topic: the handle clients subscribe with.
public struct TopicHandle: Sendable, Hashable, CustomStringConvertible {
    /// The topic's name (`pq.<hash>` for statements, or the name given).
    public let name: String

    /// Creates a handle from a topic name (for clients that got the name out of band).
    public init(name: String) { self.name = name }

    public var description: String { name }
}
