import Foundation

/// Outstanding challenges (RADIUS State). Each State is random, single-use, bound to the user, the resource and the
/// client address, and expires. Kept in memory: after a restart no State is valid, which refuses every old one.
public final class ChallengeBook: Sendable {
    public struct Binding: Sendable, Hashable {
        public var username: String
        public var resource: Resource
        public var clientAddress: String

        public init(username: String, resource: Resource, clientAddress: String) {
            self.username = username
            self.resource = resource
            self.clientAddress = clientAddress
        }

        /// The user, resource and client address of `attempt`.
        public init(_ attempt: LoginAttempt) {
            self.init(username: attempt.username, resource: attempt.resource, clientAddress: attempt.clientAddress)
        }
    }

    private struct Entry {
        var binding: Binding
        var expires: Date
        var pushID: String?
    }

    /// What a redeemed State was issued for.
    public enum Redemption: Sendable, Equatable {
        /// A TOTP code.
        case code
        /// The number the device showed after approving this push (number matching).
        case number(pushID: String)
    }

    public static let stateByteCount = 16
    public let lifetime: TimeInterval
    /// Caps memory under a flood of password-only requests.
    public let capacity: Int
    private let entries = Locked<[[UInt8]: Entry]>([:])

    public init(lifetime: TimeInterval = 300, capacity: Int = 100_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new State, or nil when the book is full of unexpired challenges. `pushID`: the push whose number answers it.
    public func issue(for binding: Binding, now: Date, pushID: String? = nil) -> [UInt8]? {
        let state = SecureRandom.bytes(Self.stateByteCount)
        return entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= capacity { return nil }
            }
            entries[state] = Entry(binding: binding, expires: now.addingTimeInterval(lifetime), pushID: pushID)
            return state
        }
    }

    /// What `state` was issued for, when it was issued for this binding and has not expired; nil otherwise. The
    /// State is used up either way.
    public func redeem(_ state: [UInt8], for binding: Binding, now: Date) -> Redemption? {
        guard let entry = entries.withLock({ $0.removeValue(forKey: state) }), entry.binding == binding, now < entry.expires
        else { return nil }
        return entry.pushID.map { .number(pushID: $0) } ?? .code
    }

    public var count: Int { entries.withLock { $0.count } }
}
