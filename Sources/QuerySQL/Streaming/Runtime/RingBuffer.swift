/// A growable FIFO in one contiguous buffer: O(1) append at the back and removal at the front,
/// no per-element allocation.
struct RingBuffer<Element> {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// The oldest element.
    @inline(__always)
    var first: Element? { count == 0 ? nil : storage[head] }

    /// The element `offset` places after the oldest.
    @inline(__always)
    subscript(offset: Int) -> Element {
        var i = head + offset
        if i >= storage.count { i -= storage.count }
        return storage[i]!
    }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        var tail = head + count
        if tail >= storage.count { tail -= storage.count }
        storage[tail] = element
        count += 1
    }

    @discardableResult
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count { head = 0 }
        count -= 1
        return element
    }

    mutating func removeAll() {
        storage = []
        head = 0
        count = 0
    }

    private mutating func grow() {
        var bigger = [Element?](repeating: nil, count: Swift.max(16, storage.count * 2))
        for i in 0..<count { bigger[i] = self[i] }
        storage = bigger
        head = 0
    }
}
