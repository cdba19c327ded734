public enum ConstantTime {
    /// Compares without an early exit on the first difference; only the lengths may leak. Inlinable: specialized
    /// where it is called, instead of looking up generic metadata on every comparison.
    @inlinable
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
