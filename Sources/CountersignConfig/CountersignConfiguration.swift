import Foundation
import TOMLKit

/// The whole configuration file (`countersign.toml`), read and validated.
public struct CountersignConfiguration: Sendable, Equatable {
    public var store: StoreSettings
    public var radius: RADIUSSettings
    public var mfa: MFASettings
    public var totp: TOTPSettings
    public var log: LogSettings
    public var http: HTTPSettings
    public var push: PushSettings
    public var ldap: LDAPSettings
    public var primary: PrimarySettings
    public var lockout: LockoutSettings

    public init(
        store: StoreSettings, radius: RADIUSSettings, mfa: MFASettings, totp: TOTPSettings, log: LogSettings,
        http: HTTPSettings = HTTPSettings(), push: PushSettings = PushSettings(),
        ldap: LDAPSettings = LDAPSettings(), primary: PrimarySettings = PrimarySettings(),
        lockout: LockoutSettings = LockoutSettings()
    ) {
        self.lockout = lockout
        self.store = store
        self.radius = radius
        self.mfa = mfa
        self.totp = totp
        self.log = log
        self.http = http
        self.push = push
        self.ldap = ldap
        self.primary = primary
    }

    /// Reads and validates a TOML file. Relative paths (store, key, the LDAP and HTTP certificates, keys and CA) are resolved against
    /// the config file's folder.
    public static func load(path: String) throws(ConfigurationError) -> CountersignConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                code: .fileUnreadable, message: "cannot read configuration file: \(error.localizedDescription)",
                file: path)
        }
        let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            return try parse(toml: text, baseDirectory: baseDirectory)
        } catch var error where error.code == .syntax {
            error.file = path
            throw error
        }
    }

    /// Same as `load(path:)` from a string; `baseDirectory` resolves relative paths.
    public static func parse(toml: String, baseDirectory: String) throws(ConfigurationError) -> CountersignConfiguration {
        let document: TOMLTable
        do {
            document = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                code: .syntax, message: "invalid TOML: \(error.description)",
                line: error.source.begin.line, column: error.source.begin.column)
        } catch {
            throw ConfigurationError(code: .syntax, message: "invalid TOML: \(error)")
        }
        var configuration = try CountersignConfiguration(reading: TableReader(document, path: "", allowedKeys: sectionNames))
        configuration.store = configuration.store.resolved(against: baseDirectory)
        configuration.ldap = configuration.ldap.resolved(against: baseDirectory)
        configuration.http = configuration.http.resolved(against: baseDirectory)
        try configuration.validate()
        return configuration
    }

    /// Top-level tables accepted. A new section goes here and in `init(reading:)`.
    static let sectionNames = [
        StoreSettings.tableName, RADIUSSettings.tableName, MFASettings.tableName,
        TOTPSettings.tableName, LogSettings.tableName, HTTPSettings.tableName, PushSettings.tableName,
        LDAPSettings.tableName, PrimarySettings.tableName, LockoutSettings.tableName,
    ]

    init(reading root: TableReader) throws(ConfigurationError) {
        self.init(
            store: try root.section(StoreSettings.self),
            radius: try root.section(RADIUSSettings.self),
            mfa: try root.section(MFASettings.self),
            totp: try root.section(TOTPSettings.self),
            log: try root.section(LogSettings.self),
            http: try root.section(HTTPSettings.self),
            push: try root.section(PushSettings.self),
            ldap: try root.section(LDAPSettings.self),
            primary: try root.section(PrimarySettings.self),
            lockout: try root.section(LockoutSettings.self))
    }

    /// Checks ranges and cross-field rules. `parse` and `load` call it; call it yourself for a configuration built in code.
    public func validate() throws(ConfigurationError) {
        if store.path.isEmpty { throw .invalid("store.path", "must not be empty") }
        if store.keyPath.isEmpty { throw .invalid("store.key_path", "must not be empty") }

        if radius.listen.isEmpty { throw .invalid("radius.listen", "at least one address is required") }
        for (index, address) in radius.listen.enumerated() {
            try Self.validate(address, key: "radius.listen[\(index)]")
        }
        if radius.delimiter.count != 1 {
            throw .invalid("radius.delimiter", "must be exactly one character, got \"\(radius.delimiter)\"")
        }
        if !RADIUSSettings.duplicateWindowRange.contains(radius.duplicateWindowSeconds) {
            throw .outOfRange("radius.duplicate_window", radius.duplicateWindowSeconds, RADIUSSettings.duplicateWindowRange)
        }
        if !RADIUSSettings.clientFailureRange.contains(radius.clientFailureRate) {
            throw .outOfRange("radius.client_failure_rate", radius.clientFailureRate, RADIUSSettings.clientFailureRange)
        }
        if !RADIUSSettings.clientFailureRange.contains(radius.clientFailureBurst) {
            throw .outOfRange("radius.client_failure_burst", radius.clientFailureBurst, RADIUSSettings.clientFailureRange)
        }
        try validateClients()

        if !TOTPSettings.driftStepsRange.contains(totp.driftSteps) {
            throw .outOfRange("totp.drift_steps", totp.driftSteps, TOTPSettings.driftStepsRange)
        }
        if totp.issuer.isEmpty { throw .invalid("totp.issuer", "must not be empty") }
        // The otpauth label is "issuer:account"; a colon in the issuer would split it in the wrong place.
        if totp.issuer.contains(":") { throw .invalid("totp.issuer", "must not contain \":\"") }

        try http.validate()
        try push.validate()
        try push.validateUserVerification(publicURL: http.publicURL)
        try ldap.validate()
        try primary.validate(ldap: ldap)
        try lockout.validate()
    }

    /// A listen address built in code skips `ListenAddress.parse`, so its port and host are checked again here.
    static func validate(_ address: ListenAddress, key: String) throws(ConfigurationError) {
        if !ListenAddress.portRange.contains(address.port) {
            throw .outOfRange(key, address.port, ListenAddress.portRange)
        }
        if !address.hasValidHost {
            throw .invalid(key, "host \"\(address.host)\" must be a literal IPv4/IPv6 address or \"localhost\"")
        }
    }

    private func validateClients() throws(ConfigurationError) {
        if radius.clients.isEmpty {
            throw ConfigurationError(
                code: .missingKey, key: "radius.clients",
                message: "at least one client is required (add a [[radius.clients]] table)")
        }
        var names: [String: Int] = [:]
        var networks: [IPNetwork: Int] = [:]
        for (index, client) in radius.clients.enumerated() {
            let prefix = "radius.clients[\(index)]"
            if client.name.isEmpty { throw .invalid("\(prefix).name", "must not be empty") }
            if let first = names[client.name] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).name",
                    message: "client name \"\(client.name)\" is already used by radius.clients[\(first)]")
            }
            names[client.name] = index
            // Two entries for the same network would make the shared secret ambiguous.
            if let first = networks[client.network] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).address",
                    message: "network \(client.network) is already used by radius.clients[\(first)]")
            }
            networks[client.network] = index
            if client.secret.isEmpty { throw .invalid("\(prefix).secret", "must not be empty") }
        }
    }
}
