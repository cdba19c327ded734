/// The first factor: where a password is checked. Local hashes by default; the directory (an LDAP bind) when
/// `primary.source = "ldap"`.
public protocol PrimaryVerifier: Sendable {
    /// `credentials` is the local record, nil for a user the store does not know.
    func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict
}

public enum PrimaryVerdict: Sendable, Equatable {
    case valid
    case invalid
    /// The password could not be checked (directory unreachable): a reject that says so.
    case unavailable
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
