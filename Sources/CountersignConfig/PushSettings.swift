/// Push approvals on enrolled devices: `[push]` and its `[push.limit]`.
public struct PushSettings: Sendable, Equatable {
    /// `push.timeout`, default 45, 1...600: seconds a push waits for the user's answer.
    public var timeoutSeconds: Int
    /// `push.fallback`, default `.totpChallenge`.
    public var fallback: PushFallback
    /// `[push.limit]`.
    public var limit: PushLimitSettings
    /// `push.number_matching`, default false: a RADIUS login that would wait for a push gets an Access-Challenge at
    /// once; after approving, the device shows a number that the user types as the response.
    public var numberMatching: Bool

    public static let timeoutRange = 1...600

    public init(
        timeoutSeconds: Int = 45, fallback: PushFallback = .totpChallenge, limit: PushLimitSettings = PushLimitSettings(),
        numberMatching: Bool = false
    ) {
        self.numberMatching = numberMatching
        self.timeoutSeconds = timeoutSeconds
        self.fallback = fallback
        self.limit = limit
    }
}

/// `push.fallback`: whether a TOTP code can stand in for the push.
public enum PushFallback: String, Sendable, Equatable, CaseIterable {
    /// The user can answer with a TOTP code instead (an Access-Challenge); the default.
    case totpChallenge = "totp-challenge"
    /// Only the push answer counts.
    case wait
}

/// `[push.limit]`: against push bombing, at most `max_concurrent` outstanding pushes per user and resource
/// within `window`.
public struct PushLimitSettings: Sendable, Equatable {
    /// `enabled`, default true.
    public var enabled: Bool
    /// `max_concurrent`, default 1, 1...100.
    public var maxConcurrent: Int
    /// `window`, default 60, 1...3600.
    public var windowSeconds: Int
    /// `exempt`, default `["radius", "ldap"]`: front ends the limit does not apply to, each one of
    /// `exemptOptions`, no duplicates. RADIUS and LDAP are the documented exception: their clients
    /// cannot show "try again later".
    public var exempt: [String]

    public static let maxConcurrentRange = 1...100
    public static let windowRange = 1...3600
    public static let exemptOptions = ["radius", "ldap", "api"]
    public static let defaultExempt = ["radius", "ldap"]

    public init(
        enabled: Bool = true, maxConcurrent: Int = 1, windowSeconds: Int = 60,
        exempt: [String] = PushLimitSettings.defaultExempt
    ) {
        self.enabled = enabled
        self.maxConcurrent = maxConcurrent
        self.windowSeconds = windowSeconds
        self.exempt = exempt
    }
}

extension PushSettings: ConfigurationSection {
    static let tableName = "push"
    static let allowedKeys = ["timeout", "fallback", "number_matching", PushLimitSettings.tableName]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            timeoutSeconds: try reader.integer("timeout") ?? 45,
            fallback: try reader.choice("fallback") ?? .totpChallenge,
            limit: try PushLimitSettings(
                reading: reader.table(PushLimitSettings.tableName, allowedKeys: PushLimitSettings.allowedKeys)),
            numberMatching: try reader.bool("number_matching") ?? false)
    }

    /// Called by `CountersignConfiguration.validate()`.
    func validate() throws(ConfigurationError) {
        if !Self.timeoutRange.contains(timeoutSeconds) {
            throw .outOfRange("push.timeout", timeoutSeconds, Self.timeoutRange)
        }
        try limit.validate()
    }
}

extension PushLimitSettings {
    /// Nested in `[push]`.
    static let tableName = "limit"
    static let allowedKeys = ["enabled", "max_concurrent", "window", "exempt"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            enabled: try reader.bool("enabled") ?? true,
            maxConcurrent: try reader.integer("max_concurrent") ?? 1,
            windowSeconds: try reader.integer("window") ?? 60,
            exempt: try reader.strings("exempt")?.map(\.value) ?? Self.defaultExempt)
    }

    func validate() throws(ConfigurationError) {
        if !Self.maxConcurrentRange.contains(maxConcurrent) {
            throw .outOfRange("push.limit.max_concurrent", maxConcurrent, Self.maxConcurrentRange)
        }
        if !Self.windowRange.contains(windowSeconds) {
            throw .outOfRange("push.limit.window", windowSeconds, Self.windowRange)
        }
        var seen: [String: Int] = [:]
        for (index, name) in exempt.enumerated() {
            let key = "push.limit.exempt[\(index)]"
            if !Self.exemptOptions.contains(name) {
                let options = Self.exemptOptions.map { "\"\($0)\"" }.joined(separator: ", ")
                throw .invalid(key, "expected one of \(options), got \"\(name)\"")
            }
            if let first = seen[name] {
                throw ConfigurationError(
                    code: .duplicate, key: key, message: "\"\(name)\" is already listed at push.limit.exempt[\(first)]")
            }
            seen[name] = index
        }
    }
}
