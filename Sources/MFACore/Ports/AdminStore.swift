import Foundation

/// The admin console's accounts: apart from the users (an admin is no RADIUS user, and a user is no admin), each with
/// a password and a TOTP secret of its own, confirmed by a first code before it counts.
public protocol AdminStore: Sendable {
    /// Refused (`adminExists`) when the name is taken; the name follows the rule for user names.
    func addAdmin(_ name: String, passwordHash: String, at time: Date) async throws
    func deleteAdmin(_ name: String) async throws
    /// In name order.
    func admins() async throws -> [AdminSummary]
    /// The account with its TOTP secret opened, or nil.
    func adminAccount(_ name: String) async throws -> AdminAccount?
    /// Stores a new secret, not confirmed yet (a first sign-in's setup); refused (`alreadyEnrolled`) once a secret
    /// is confirmed, so a password alone never replaces the second factor.
    func setUnconfirmedAdminTOTP(_ enrollment: TOTPEnrollment, for name: String) async throws
    /// Records `step` as the admin's last accepted TOTP step when it is later than the stored one, and marks the
    /// secret confirmed, atomically. False when it is not later: no code is accepted twice.
    func recordAdminTOTPStep(_ step: Int64, for name: String) async throws -> Bool
    /// Counts a failed password or code, with the users' lockout rule; true when this failure locked the admin.
    func recordAdminFailure(for name: String, now: Date, policy: LockoutPolicy) async throws -> Bool
    /// A sign-in ends the run of failures.
    func clearAdminFailures(for name: String) async throws
}

/// An admin as `countersign admin list` shows one: no secret in it.
public struct AdminSummary: Sendable, Equatable, Codable {
    public var name: String
    public var createdAt: Date
    public var totpConfirmed: Bool
    public var lockedUntil: Date?

    public init(name: String, createdAt: Date, totpConfirmed: Bool, lockedUntil: Date?) {
        self.name = name
        self.createdAt = createdAt
        self.totpConfirmed = totpConfirmed
        self.lockedUntil = lockedUntil
    }
}

/// What a console sign-in reads of an admin.
public struct AdminAccount: Sendable {
    public var name: String
    public var passwordHash: String
    public var createdAt: Date
    /// Nil until the first sign-in makes one.
    public var totp: TOTPEnrollment?
    /// False until a first code from `totp` was accepted: until then the sign-in shows the secret to set up.
    public var totpConfirmed: Bool
    public var lastUsedStep: Int64?
    public var lockedUntil: Date?

    public init(
        name: String, passwordHash: String, createdAt: Date, totp: TOTPEnrollment?, totpConfirmed: Bool, lastUsedStep: Int64?,
        lockedUntil: Date?
    ) {
        self.name = name
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.totp = totp
        self.totpConfirmed = totpConfirmed
        self.lastUsedStep = lastUsedStep
        self.lockedUntil = lockedUntil
    }

    public var summary: AdminSummary {
        AdminSummary(name: name, createdAt: createdAt, totpConfirmed: totpConfirmed, lockedUntil: lockedUntil)
    }
}

extension StoreConventions {
    /// An admin's TOTP secret is sealed for this name, so that it never opens as the secret of a user of the same name.
    public static func adminSealingName(_ name: String) -> String { "admin:" + name }

    /// `search` as a substring pattern both backends read the same way: ASCII letters folded to lower case.
    public static func searchPattern(_ search: String?) -> String? {
        guard let search, !search.isEmpty else { return nil }
        return String(search.map { $0.isASCII ? Character($0.lowercased()) : $0 })
    }
}
