/// A FIFO of plain elements in one power-of-two buffer: append at the back and removal at the
/// front are an index mask and a store, with no optional wrapping of the elements.
///
/// Free slots hold `filler`, so a removed element's references are dropped at once.
struct FlatRing<Element> {
    private var storage: ContiguousArray<Element>
    private let filler: Element
    private var head = 0
    /// Capacity - 1 (the capacity is a power of two).
    private var mask: Int
    private(set) var count = 0

    /// - Parameter filler: the value free slots hold.
    init(filler: Element) {
        self.filler = filler
        storage = ContiguousArray(repeating: filler, count: 16)
        mask = 15
    }

    var isEmpty: Bool { count == 0 }

    /// The element `offset` places after the oldest (`offset < count`).
    @inline(__always)
    subscript(offset: Int) -> Element { storage[(head &+ offset) & mask] }

    /// The oldest element (the ring is not empty).
    @inline(__always)
    var first: Element { storage[head] }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head &+ count) & mask] = element
        count &+= 1
    }

    /// Removes and returns the oldest element (the ring is not empty).
    @inline(__always)
    @discardableResult
    mutating func removeFirst() -> Element {
        precondition(count > 0, "FlatRing: removing from an empty ring")
        let element = storage[head]
        storage[head] = filler
        head = (head &+ 1) & mask
        count &-= 1
        return element
    }

    @inline(never)
    private mutating func grow() {
        var bigger = ContiguousArray(repeating: filler, count: storage.count * 2)
        for i in 0..<count { bigger[i] = self[i] }
        storage = bigger
        head = 0
        mask = bigger.count - 1
    }
}
