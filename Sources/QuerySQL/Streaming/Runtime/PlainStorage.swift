import QueryCore

/// A growable array of plain (bitwise-copyable) values at a fixed address, for the per-event path
/// of ``FlatAggregationState``: reading and writing an element is a load or a store through the
/// pointer, with no uniqueness check, no copy-on-write and no reference counting (a Swift array
/// held in a mutable struct checks uniqueness on every write).
///
/// The owner frees it explicitly (``free()``) exactly once; copies of the struct share the same
/// storage, so only the owning value may grow or free it. Indices are checked in debug builds only:
/// callers index below ``count`` by construction.
struct PlainBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = Swift.max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    @inline(__always)
    subscript(i: Int) -> Element {
        get {
            assert(i >= 0 && i < count, "PlainBuffer: index out of range")
            return base[i]
        }
        nonmutating set {
            assert(i >= 0 && i < count, "PlainBuffer: index out of range")
            base[i] = newValue
        }
    }

    /// The element at `i`, for updating in place.
    @inline(__always)
    func pointer(_ i: Int) -> UnsafeMutablePointer<Element> {
        assert(i >= 0 && i < count, "PlainBuffer: index out of range")
        return base + i
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count &+= 1
    }

    @inline(never)
    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    /// Forgets the elements (plain values: nothing to release), keeping the capacity.
    @inline(__always)
    mutating func removeAll() { count = 0 }

    /// Sorts the elements in place.
    mutating func sort() where Element: Comparable {
        var elements = UnsafeMutableBufferPointer(start: base, count: count)
        elements.sort()
    }

    /// Frees the storage; the buffer must not be used afterwards.
    func free() { base.deallocate() }
}

/// A FIFO in one power-of-two buffer at a fixed address: appending moves an element in and
/// removing moves it out, so a reference-counted element (a ``Value``) is retained once when it
/// enters and released once after it leaves, a plain one is a store and a load, and no
/// uniqueness check runs (a Swift array's slots would be re-initialised and checked for
/// uniqueness on every write).
///
/// The owner frees it explicitly (``free()``), exactly once; copies share the storage, so only
/// the owning value may use it.
struct Ring<Element> {
    private var storage: UnsafeMutablePointer<Element>
    private var head = 0
    /// Capacity - 1 (the capacity is a power of two).
    private var mask: Int
    private(set) var count = 0

    init() {
        storage = .allocate(capacity: 16)
        mask = 15
    }

    var isEmpty: Bool { count == 0 }

    /// The element `offset` places after the oldest (`offset < count`).
    @inline(__always)
    subscript(offset: Int) -> Element {
        assert(offset >= 0 && offset < count, "Ring: offset out of range")
        return storage[(head &+ offset) & mask]
    }

    /// The oldest element (the ring is not empty).
    @inline(__always)
    var first: Element {
        assert(count > 0, "Ring: empty")
        return storage[head]
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == mask &+ 1 { grow() }
        (storage + ((head &+ count) & mask)).initialize(to: element)
        count &+= 1
    }

    /// Removes and returns the oldest element (the ring is not empty).
    @inline(__always)
    @discardableResult
    mutating func removeFirst() -> Element {
        precondition(count > 0, "Ring: removing from an empty ring")
        let element = (storage + head).move()
        head = (head &+ 1) & mask
        count &-= 1
        return element
    }

    @inline(never)
    private mutating func grow() {
        let capacity = (mask &+ 1) * 2
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        for i in 0..<count { (bigger + i).initialize(to: (storage + ((head &+ i) & mask)).move()) }
        storage.deallocate()
        storage = bigger
        head = 0
        mask = capacity - 1
    }

    /// Releases the held elements and frees the storage; the ring must not be used afterwards.
    mutating func free() {
        let firstRun = Swift.min(count, mask &+ 1 &- head)
        (storage + head).deinitialize(count: firstRun)
        storage.deinitialize(count: count &- firstRun)
        count = 0
        storage.deallocate()
    }
}
