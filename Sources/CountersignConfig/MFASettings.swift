/// Second-factor policy: `[mfa]`.
public struct MFASettings: Sendable, Equatable {
    /// `mfa.unenrolled`, default `.deny`.
    public var unenrolled: UnenrolledPolicy

    public init(unenrolled: UnenrolledPolicy = .deny) {
        self.unenrolled = unenrolled
    }
}

/// What happens to a user who passes the password check but has no second factor enrolled.
public enum UnenrolledPolicy: String, Sendable, Equatable, CaseIterable {
    /// Reject: fail closed, the safe default.
    case deny
    /// Accept on the password alone, e.g. during a rollout.
    case allow
}

extension MFASettings: ConfigurationSection {
    static let tableName = "mfa"
    static let allowedKeys = ["unenrolled"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(unenrolled: try reader.choice("unenrolled") ?? .deny)
    }
}
