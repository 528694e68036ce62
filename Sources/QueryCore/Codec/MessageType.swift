/// The message type byte of a ``Frame``: one value per ``Message`` case.
///
/// Values are part of the wire format: never reuse or renumber one; add new cases with new numbers.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable {
    /// ``Message/heartbeat(_:)``.
    case heartbeat = 1
    /// ``Message/request(_:)``.
    case request = 2
    /// ``Message/update(_:)``.
    case update = 3
    /// ``Message/ack(_:)``.
    case ack = 4
    /// ``Message/resync(_:)``.
    case resync = 5
    /// ``Message/redirect(_:)``.
    case redirect = 6
    /// ``Message/deferral(_:)``.
    case deferral = 7
    /// ``Message/combine(_:)``.
    case combine = 8
    /// ``Message/query(_:)``.
    case query = 9
    /// ``Message/queryResponse(_:)``.
    case queryResponse = 10
}
