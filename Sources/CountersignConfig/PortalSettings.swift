/// The user portal: `[portal]`.
public struct PortalSettings: Sendable, Equatable {
    /// `portal.enroll_with_password`, default false: the password alone signs in a user who has no second factor
    /// yet, to enroll one (an enrollment period). Off, a first factor comes from an admin's invitation link.
    public var enrollWithPassword: Bool

    public init(enrollWithPassword: Bool = false) {
        self.enrollWithPassword = enrollWithPassword
    }
}

extension PortalSettings: ConfigurationSection {
    static let tableName = "portal"
    static let allowedKeys = ["enroll_with_password"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(enrollWithPassword: try reader.bool("enroll_with_password") ?? false)
    }

    func validate() throws(ConfigurationError) {}
}
