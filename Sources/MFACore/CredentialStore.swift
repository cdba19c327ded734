/// What the MFA core reads and writes about a user; the store implements it.
public protocol CredentialStore: Sendable {
    /// The user's credentials with the TOTP secret decrypted, or nil for an unknown user.
    func credentials(for username: String) async throws -> UserCredentials?
    /// Records `step` as the user's last accepted TOTP step when it is later than the stored one, atomically.
    /// Returns false when it is not (the code was already used): no code is accepted twice.
    func recordAcceptedTOTPStep(_ step: Int64, for username: String) async throws -> Bool
    /// `countersign protect disable` turns push off for the whole gateway.
    func isPushEnabled() async throws -> Bool
}

public struct UserCredentials: Sendable {
    public var username: String
    /// PHC string (PasswordHasher); nil when the user has no local password.
    public var passwordHash: String?
    public var totp: TOTPEnrollment?
    public var device: EnrolledDevice?

    public init(username: String, passwordHash: String?, totp: TOTPEnrollment?, device: EnrolledDevice? = nil) {
        self.username = username
        self.passwordHash = passwordHash
        self.totp = totp
        self.device = device
    }
}
