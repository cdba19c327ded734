/// Brute-force protection: `[lockout]`. After `max_failures` consecutive failed passwords or second factors within
/// `window`, the user is locked for `duration`: every attempt is rejected, even with a valid code, and no push is sent.
public struct LockoutSettings: Sendable, Equatable {
    /// `lockout.max_failures`, default 10, 1...1000.
    public var maxFailures: Int
    /// `lockout.window` in seconds, default 900 (15 minutes), 1...86400.
    public var windowSeconds: Int
    /// `lockout.duration` in seconds, default 900 (15 minutes), 1...604800.
    public var durationSeconds: Int

    public static let maxFailuresRange = 1...1000
    public static let windowRange = 1...86400
    public static let durationRange = 1...604_800

    public init(maxFailures: Int = 10, windowSeconds: Int = 900, durationSeconds: Int = 900) {
        self.maxFailures = maxFailures
        self.windowSeconds = windowSeconds
        self.durationSeconds = durationSeconds
    }
}

extension LockoutSettings: ConfigurationSection {
    static let tableName = "lockout"
    static let allowedKeys = ["max_failures", "window", "duration"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            maxFailures: try reader.integer("max_failures", in: Self.maxFailuresRange) ?? 10,
            windowSeconds: try reader.integer("window", in: Self.windowRange) ?? 900,
            durationSeconds: try reader.integer("duration", in: Self.durationRange) ?? 900)
    }

    func validate() throws(ConfigurationError) {
        if !Self.maxFailuresRange.contains(maxFailures) { throw .outOfRange("lockout.max_failures", maxFailures, Self.maxFailuresRange) }
        if !Self.windowRange.contains(windowSeconds) { throw .outOfRange("lockout.window", windowSeconds, Self.windowRange) }
        if !Self.durationRange.contains(durationSeconds) { throw .outOfRange("lockout.duration", durationSeconds, Self.durationRange) }
    }
}
