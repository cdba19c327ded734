import Foundation

/// What the MFA core reads and writes about a user; the store implements it.
public protocol CredentialStore: Sendable {
    /// The user's credentials with the TOTP secret decrypted, or nil for an unknown user.
    func credentials(for username: String) async throws -> UserCredentials?
    /// The same, for a request made at `received`: changes committed before then are seen, and a store may skip
    /// looking for changes when it already looked after that moment (one look serves the requests of one read).
    func credentials(for username: String, received: ContinuousClock.Instant) async throws -> UserCredentials?
    /// Records `step` as the user's last accepted TOTP step when it is later than the stored one, atomically.
    /// Returns false when it is not (the code was already used): no code is accepted twice.
    func recordAcceptedTOTPStep(_ step: Int64, for username: String) async throws -> Bool
    /// Gives back `step`, recorded by `recordAcceptedTOTPStep` for an attempt that then failed otherwise (the LDAP
    /// proxy's bind whose password the directory refused): the user's record goes back to the step before, unless a
    /// later step was recorded meanwhile. Atomically, so that no step used by a success is ever given back.
    func releaseTOTPStep(_ step: Int64, for username: String) async throws
    /// `countersign protect disable` turns push off for the whole gateway.
    func isPushEnabled() async throws -> Bool
    /// Counts a failed password or second factor; true when this failure locked the user.
    func recordFailure(for username: String, now: Date, policy: LockoutPolicy) async throws -> Bool
    /// A success ends the run of failures.
    func clearFailures(for username: String) async throws
    /// The local groups the user is a member of, in name order (what reply rules match, with directory groups).
    func groups(of username: String) async throws -> [String]
}

extension CredentialStore {
    public func credentials(for username: String, received: ContinuousClock.Instant) async throws -> UserCredentials? {
        try await credentials(for: username)
    }
}

/// Brute-force protection (`[lockout]`).
public struct LockoutPolicy: Sendable, Equatable {
    public var maxFailures: Int
    public var window: TimeInterval
    public var duration: TimeInterval

    public init(maxFailures: Int = 10, window: TimeInterval = 900, duration: TimeInterval = 900) {
        self.maxFailures = maxFailures
        self.window = window
        self.duration = duration
    }
}

public struct UserCredentials: Sendable {
    public var username: String
    /// PHC string (PasswordHasher); nil when the user has no local password.
    public var passwordHash: String?
    public var totp: TOTPEnrollment?
    public var device: EnrolledDevice?
    /// While in the future, every attempt is rejected.
    public var lockedUntil: Date?
    /// Consecutive failures counted so far: a success has something to clear only when this is not 0 (or a lock is set).
    public var failedAttempts: Int

    public init(
        username: String, passwordHash: String?, totp: TOTPEnrollment?, device: EnrolledDevice? = nil, lockedUntil: Date? = nil,
        failedAttempts: Int = 0
    ) {
        self.lockedUntil = lockedUntil
        self.failedAttempts = failedAttempts
        self.username = username
        self.passwordHash = passwordHash
        self.totp = totp
        self.device = device
    }
}
