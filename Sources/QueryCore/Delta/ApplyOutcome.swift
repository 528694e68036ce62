/// What a receiver did with an offered ``TableCopy``.
public enum ApplyOutcome: Sendable, Hashable {
    /// The copy was newer and is now held.
    case applied
    /// The copy was not newer than the held version, which is kept (and the rejection counted).
    case rejectedStale(held: Version)
    /// The copy is a delta whose base is not the version held (or nothing is held): the sender
    /// must send a full copy.
    case needsResync(held: Version?)
}
