import Foundation

/// Against push bombing (design.md, "The push limiter"): at most `maxConcurrent` outstanding pushes per user and
/// resource within `window`. RADIUS and LDAP are exempt by default: their clients cannot show "try again later".
public struct PushLimiter: Sendable {
    public struct Settings: Sendable, Equatable {
        public var enabled: Bool
        public var maxConcurrent: Int
        public var window: TimeInterval
        public var exempt: Set<Resource.Kind>

        public init(enabled: Bool = true, maxConcurrent: Int = 1, window: TimeInterval = 60, exempt: Set<Resource.Kind> = [.radius, .ldap]) {
            self.enabled = enabled
            self.maxConcurrent = maxConcurrent
            self.window = window
            self.exempt = exempt
        }
    }

    public struct Key: Hashable, Sendable {
        public var username: String
        public var resource: Resource
    }

    public static let refusal = "too many concurrent push requests"

    /// Set anew before each decision: the console may have changed them.
    public var settings: Settings
    private var outstanding: [Key: [(pushID: String, created: Date)]] = [:]

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Admits a new push (recording it as outstanding) or refuses it.
    public mutating func admit(_ key: Key, pushID: String, now: Date) -> Bool {
        guard settings.enabled, !settings.exempt.contains(key.resource.kind) else { return true }
        var current = (outstanding[key] ?? []).filter { now.timeIntervalSince($0.created) < settings.window }
        guard current.count < settings.maxConcurrent else {
            outstanding[key] = current
            return false
        }
        current.append((pushID, now))
        outstanding[key] = current
        return true
    }

    /// The push was answered or expired: it no longer counts.
    public mutating func release(_ key: Key, pushID: String) {
        guard var current = outstanding[key] else { return }
        current.removeAll { $0.pushID == pushID }
        outstanding[key] = current.isEmpty ? nil : current
    }
}
