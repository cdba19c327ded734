/// TOTP verification and enrollment: `[totp]`.
public struct TOTPSettings: Sendable, Equatable {
    /// `totp.drift_steps`, default 1: 30-second steps accepted on each side of now. At most 1 by design,
    /// since every extra step widens the window for a guessed or phished code.
    public var driftSteps: Int
    /// `totp.issuer`, default `Countersign`: the label shown in authenticator apps (otpauth:// URIs).
    public var issuer: String

    public static let driftStepsRange = 0...1

    public init(driftSteps: Int = 1, issuer: String = "Countersign") {
        self.driftSteps = driftSteps
        self.issuer = issuer
    }
}

extension TOTPSettings: ConfigurationSection {
    static let tableName = "totp"
    static let allowedKeys = ["drift_steps", "issuer"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            driftSteps: try reader.integer("drift_steps") ?? 1,
            issuer: try reader.string("issuer") ?? "Countersign")
    }
}
