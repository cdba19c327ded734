/// The first factor: where a password is checked. Local hashes by default; the directory (an LDAP bind) when
/// `primary.source = "ldap"`; an upstream RADIUS server when `"radius"`.
public protocol PrimaryVerifier: Sendable {
    /// `credentials` is the local record, nil for a user the store does not know.
    func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict
    /// The user's response to a question this verifier asked (`PrimaryVerdict.challenge`); `state` is what that
    /// challenge carried.
    func answer(username: String, response: String, state: [UInt8], credentials: UserCredentials?) async -> PrimaryVerdict
}

extension PrimaryVerifier {
    /// A verifier that never asks a question has no answer to take.
    public func answer(username: String, response: String, state: [UInt8], credentials: UserCredentials?) async -> PrimaryVerdict {
        .invalid
    }
}

public enum PrimaryVerdict: Sendable, Hashable {
    /// The password is right; `Grant` is what the check learnt about the user (directory groups, an upstream
    /// server's reply attributes).
    case valid(Grant)
    case invalid
    /// The password could not be checked (directory unreachable): a reject that says so.
    case unavailable
    /// The check asks a question of its own (an upstream RADIUS server's Access-Challenge: a new PIN, its own OTP):
    /// `prompt` goes to the client unchanged, and `state`, opaque to the core, comes back to `answer`.
    case challenge(prompt: String, state: [UInt8])

    /// Valid, with nothing learnt beyond the password.
    public static var valid: PrimaryVerdict { .valid(Grant()) }

    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

/// One RADIUS attribute as on the wire: a Vendor-Specific one is type 26 with the vendor id and its sub-attributes
/// in `value`. The core carries them without reading them.
public struct ReplyAttribute: Sendable, Hashable, Codable {
    public var type: UInt8
    public var value: [UInt8]

    public init(type: UInt8, value: [UInt8]) {
        self.type = type
        self.value = value
    }
}

/// What an accepted login carries to its reply: the user's groups (local and from the directory), for the reply rules
/// to match, and attributes the primary check passed through (an upstream RADIUS server's Class, Filter-Id, …).
public struct Grant: Sendable, Hashable, Codable {
    public var groups: [String]
    public var attributes: [ReplyAttribute]

    public init(groups: [String] = [], attributes: [ReplyAttribute] = []) {
        self.groups = groups
        self.attributes = attributes
    }

    /// `groups` added to these, each name once, in first-seen order.
    public func adding(groups more: [String]) -> Grant {
        var seen = Set(groups)
        var grant = self
        grant.groups += more.filter { seen.insert($0).inserted }
        return grant
    }
}

/// Checks the local scrypt hash; an unknown user costs the same time as a known one.
public struct LocalPasswordVerifier: PrimaryVerifier {
    public let hasher: PasswordHasher

    public init(hasher: PasswordHasher = PasswordHasher()) {
        self.hasher = hasher
    }

    public func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict {
        // The hash takes tens of milliseconds of CPU: on threads of its own, never on the event loop a login may be
        // decided on (EventLoopTaskExecutor), nor on the cooperative pool the rest of the process shares.
        await withTaskExecutorPreference(HashingThreads.shared) {
            hasher.verify(password, against: credentials?.passwordHash) ? .valid : .invalid
        }
    }
}
