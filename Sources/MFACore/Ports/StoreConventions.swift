import Crypto

/// What every backend keeps the same way, so that the backends mean the same by the same rows.
public enum StoreConventions {
    /// The settings row of the server's P-256 signing key; also the associated data it is sealed with.
    public static let serverSigningKeySetting = "server-signing-key"
    /// The settings row of a key made by `sharedKey(named:)`; also the associated data it is sealed with.
    public static func sharedKeySetting(_ name: String) -> String { "key:" + name }
    /// The settings row of the gateway-wide push switch: absent or anything but `[0]` means on.
    public static let pushEnabledSetting = "push-enabled"

    /// Enrollment codes are kept as their SHA-256 only: a copy of the database enrolls no device.
    public static func enrollmentCodeHash(_ code: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(code.utf8)))
    }

    /// Used TOTP steps this far behind the newest accepted one are dropped: the verifier takes one step either side
    /// of now, so they could only be replayed after the clock went back by this much (20 steps: 10 minutes).
    public static let usedStepsKept: Int64 = 20
    /// Accepted steps between two prunes of the old ones.
    public static let usedStepsPruneEvery = 4096

    /// A group name: what a user name may be, without `;`, which separates groups in import and export files.
    public static func validate(groupName: String) throws {
        guard UserName.isValid(groupName), !groupName.contains(";") else {
            throw StoreError(.invalidGroupName, "a group name follows the rule for user names and holds no \";\"")
        }
    }

    /// Refuses a name `UserName.isValid` refuses.
    public static func validate(username: String) throws {
        guard UserName.isValid(username) else { throw StoreError(.invalidUsername, UserName.rule) }
    }
}
