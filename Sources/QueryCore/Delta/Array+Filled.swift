/// Small arrays allocated through code the compiler specialises.
///
/// `Array(unsafeUninitializedCapacity:)` and `Array(repeating:count:)` allocate through a standard
/// library entry point that is not inlinable, so every call looks up the array's generic storage
/// metadata at run time (several hundred instructions: more than gathering a few rows costs).
/// Copying from a buffer (`Array(UnsafeBufferPointer)`) allocates through inlinable code instead,
/// specialised for the element type. The delta paths build many arrays of a few elements (the
/// columns of a delta carrying one or two rows), so they fill small arrays on the stack and copy.
extension Array where Element: BitwiseCopyable {
    /// Arrays up to this many bytes are filled on the stack and copied; larger ones are allocated
    /// directly (the metadata look-up is then small next to the work).
    static var stackFilledBytes: Int { 1024 }

    /// An array of `count` elements, every one of them written by `fill`.
    ///
    /// - Parameter fill: Must initialise all `count` elements of the buffer it is given.
    @inline(__always)
    init(filling count: Int, _ fill: (UnsafeMutableBufferPointer<Element>) -> Void) {
        if count <= 0 {
            self = []
        } else if count * MemoryLayout<Element>.stride <= Self.stackFilledBytes {
            self = withUnsafeTemporaryAllocation(of: Element.self, capacity: count) { buffer in
                fill(buffer)
                return Array(UnsafeBufferPointer(buffer))
            }
        } else {
            self = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
                fill(buffer)
                initialized = count
            }
        }
    }

    /// An array of `count` copies of `value`.
    @inline(__always)
    init(filling count: Int, with value: Element) {
        self.init(filling: count) { $0.initialize(repeating: value) }
    }
}
