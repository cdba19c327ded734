import Foundation

/// A user's credentials as the store holds them, the TOTP secret still sealed (SecretBox): what a login reads, and
/// what `CredentialsCache` keeps, so that no secret waits decrypted in memory between logins.
public struct SealedCredentials: Sendable {
    public var passwordHash: String?
    public var sealedSecret: [UInt8]?
    public var totpParameters: TOTPParameters
    public var device: EnrolledDevice?
    public var lockedUntil: Date?
    public var failedAttempts: Int
    /// The number of the newest credential change the read saw, from a store that numbers them (`CredentialChanges`).
    public var newestChangeSeen: Int64?

    /// `algorithm`, `digits` and `period` as stored: missing ones are the RFC 6238 defaults.
    public init(
        passwordHash: String?, sealedSecret: [UInt8]?, algorithm: String?, digits: Int?, period: Int?,
        device: EnrolledDevice?, lockedUntil: Double?, failedAttempts: Int, newestChangeSeen: Int64? = nil
    ) {
        self.passwordHash = passwordHash
        self.sealedSecret = sealedSecret
        totpParameters = TOTPParameters(
            algorithm: TOTPAlgorithm(rawValue: algorithm ?? "") ?? .sha1, digits: digits ?? 6, period: period ?? 30)
        self.device = device
        self.lockedUntil = lockedUntil.map(Date.init(timeIntervalSince1970:))
        self.failedAttempts = failedAttempts
        self.newestChangeSeen = newestChangeSeen
    }

    /// The credentials with the secret opened (bound to `username`: a sealed secret copied to another row fails).
    public func opened(for username: String, with secrets: SecretBox) throws -> UserCredentials {
        UserCredentials(
            username: username, passwordHash: passwordHash,
            totp: try sealedSecret.map { TOTPEnrollment(secret: try secrets.open($0, for: username), parameters: totpParameters) },
            device: device, lockedUntil: lockedUntil, failedAttempts: failedAttempts)
    }
}
