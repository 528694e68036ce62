/// The message type byte of a ``Frame``: one value per ``Message`` case.
///
/// Values are part of the wire format: never reuse or renumber one; add new cases with new numbers.
public enum MessageType: UInt8, Sendable, Hashable, CaseIterable {
    /// ``Message/heartbeat(_:)``.
    case heartbeat = 1
}
