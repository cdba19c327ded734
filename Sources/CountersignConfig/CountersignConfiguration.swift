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
    public var metrics: MetricsSettings
    public var node: NodeSettings
    public var portal: PortalSettings

    public init(
        store: StoreSettings, radius: RADIUSSettings, mfa: MFASettings, totp: TOTPSettings, log: LogSettings,
        http: HTTPSettings = HTTPSettings(), push: PushSettings = PushSettings(),
        ldap: LDAPSettings = LDAPSettings(), primary: PrimarySettings = PrimarySettings(),
        lockout: LockoutSettings = LockoutSettings(), metrics: MetricsSettings = MetricsSettings(),
        node: NodeSettings = NodeSettings(), portal: PortalSettings = PortalSettings()
    ) {
        self.node = node
        self.portal = portal
        self.lockout = lockout
        self.metrics = metrics
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
    /// the config file's folder. Throws the first error; `check(path:)` finds them all.
    public static func load(path: String) throws(ConfigurationError) -> CountersignConfiguration {
        try read(path: path).strict()
    }

    /// Same as `load(path:)` from a string; `baseDirectory` resolves relative paths.
    public static func parse(toml: String, baseDirectory: String) throws(ConfigurationError) -> CountersignConfiguration {
        try read(toml: toml, baseDirectory: baseDirectory).strict()
    }

    /// Every error in the file, in the order found; empty when it loads. That is every unknown key, every value of
    /// the wrong type, out of range or malformed, and then, once every section could be read, the first rule each
    /// section breaks. A syntax error or an unreadable file is the only error.
    public static func check(path: String) -> [ConfigurationError] {
        guard case .failure(let errors) = read(path: path) else { return [] }
        return errors.all
    }

    /// Same as `check(path:)` from a string.
    public static func check(toml: String, baseDirectory: String) -> [ConfigurationError] {
        guard case .failure(let errors) = read(toml: toml, baseDirectory: baseDirectory) else { return [] }
        return errors.all
    }

    static func read(path: String) -> Result<CountersignConfiguration, ConfigurationErrors> {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return .failure(
                ConfigurationErrors(
                    ConfigurationError(
                        code: .fileUnreadable, message: "cannot read configuration file: \(error.localizedDescription)",
                        file: path)))
        }
        let baseDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return read(toml: text, baseDirectory: baseDirectory, file: path).mapError { errors in
            var errors = errors
            for index in errors.all.indices where errors.all[index].code == .syntax { errors.all[index].file = path }
            return errors
        }
    }

    /// `file` names the file in errors found by line (the reply rules' attributes).
    static func read(toml: String, baseDirectory: String, file: String? = nil) -> Result<CountersignConfiguration, ConfigurationErrors> {
        let document: TOMLTable
        do {
            document = try TOMLTable(string: toml)
        } catch let error as TOMLParseError {
            return .failure(
                ConfigurationErrors(
                    ConfigurationError(
                        code: .syntax, message: "invalid TOML: \(error.description)",
                        line: error.source.begin.line, column: error.source.begin.column)))
        } catch {
            return .failure(ConfigurationErrors(ConfigurationError(code: .syntax, message: "invalid TOML: \(error)")))
        }
        let issues = ConfigurationIssues()
        if var configuration = CountersignConfiguration(reading: TableReader(document, path: "", allowedKeys: sectionNames, issues: issues)) {
            configuration.store = configuration.store.resolved(against: baseDirectory)
            configuration.radius = configuration.radius.resolved(against: baseDirectory)
            configuration.ldap = configuration.ldap.resolved(against: baseDirectory)
            configuration.primary = configuration.primary.resolved(against: baseDirectory)
            configuration.http = configuration.http.resolved(against: baseDirectory)
            configuration.radius.replyRules = configuration.radius.replyRules.located(in: toml, file: file)
            for error in configuration.brokenRules() { issues.report(error) }
            if issues.errors.isEmpty { return .success(configuration) }
        }
        return .failure(ConfigurationErrors(all: issues.errors))
    }

    /// Top-level tables accepted. A new section goes here and in `init(reading:)`.
    static let sectionNames = [
        StoreSettings.tableName, RADIUSSettings.tableName, MFASettings.tableName,
        TOTPSettings.tableName, LogSettings.tableName, HTTPSettings.tableName, PushSettings.tableName,
        LDAPSettings.tableName, PrimarySettings.tableName, LockoutSettings.tableName, MetricsSettings.tableName,
        NodeSettings.tableName, PortalSettings.tableName,
    ]

    /// Reads every section, even after one fails, so that each reports its errors; nil when one could not be read.
    init?(reading root: TableReader) {
        func section<S: ConfigurationSection>(_ type: S.Type) -> S? {
            do {
                return try root.section(type)
            } catch {
                return root.issues.absent(error)
            }
        }
        let store = section(StoreSettings.self), radius = section(RADIUSSettings.self), mfa = section(MFASettings.self)
        let totp = section(TOTPSettings.self), log = section(LogSettings.self), http = section(HTTPSettings.self)
        let push = section(PushSettings.self), ldap = section(LDAPSettings.self), primary = section(PrimarySettings.self)
        let lockout = section(LockoutSettings.self), metrics = section(MetricsSettings.self), node = section(NodeSettings.self)
        let portal = section(PortalSettings.self)
        guard let store, let radius, let mfa, let totp, let log, let http, let push, let ldap, let primary, let lockout,
            let metrics, let node, let portal
        else { return nil }
        self.init(
            store: store, radius: radius, mfa: mfa, totp: totp, log: log, http: http, push: push, ldap: ldap, primary: primary,
            lockout: lockout, metrics: metrics, node: node, portal: portal)
    }

    /// Checks ranges and cross-field rules. `parse` and `load` call it; call it yourself for a configuration built in code.
    public func validate() throws(ConfigurationError) {
        if let first = brokenRules().first { throw first }
    }

    /// The first rule each part breaks, in file order.
    func brokenRules() -> [ConfigurationError] {
        // Untyped closures: an array of typed-throws ones crashes Swift 6.3's code generation.
        let checks: [() throws -> Void] = [
            store.validate, validateRADIUS, validateTOTP, http.validate, push.validate,
            { try push.validateUserVerification(publicURL: http.publicURL) }, ldap.validate,
            { try primary.validate(ldap: ldap) }, lockout.validate, metrics.validate, node.validate,
        ]
        return checks.compactMap { check in
            do {
                try check()
                return nil
            } catch {
                return error as? ConfigurationError
            }
        }
    }

    private func validateRADIUS() throws(ConfigurationError) {
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
        try radius.tls?.validate()
        try validateClients()
        if let dictionary = radius.dictionary, dictionary.isEmpty { throw .invalid("radius.dictionary", "must not be empty") }
        for (index, rule) in radius.replyRules.enumerated() { try rule.validate(index: index, clients: radius.clients) }
    }

    private func validateTOTP() throws(ConfigurationError) {
        if !TOTPSettings.driftStepsRange.contains(totp.driftSteps) {
            throw .outOfRange("totp.drift_steps", totp.driftSteps, TOTPSettings.driftStepsRange)
        }
        if totp.issuer.isEmpty { throw .invalid("totp.issuer", "must not be empty") }
        // The otpauth label is "issuer:account"; a colon in the issuer would split it in the wrong place.
        if totp.issuer.contains(":") { throw .invalid("totp.issuer", "must not contain \":\"") }
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

    /// What makes a client entry unique: one per network and transport, and over TLS per certificate name as well.
    private struct NetworkKey: Hashable {
        var network: IPNetwork
        var transport: RADIUSTransport
        var certificateName: String?
    }

    private func validateClients() throws(ConfigurationError) {
        if radius.clients.isEmpty {
            throw ConfigurationError(
                code: .missingKey, key: "radius.clients",
                message: "at least one client is required (add a [[radius.clients]] table)")
        }
        var names: [String: Int] = [:]
        var networks: [NetworkKey: Int] = [:]
        for (index, client) in radius.clients.enumerated() {
            let prefix = "radius.clients[\(index)]"
            if client.name.isEmpty { throw .invalid("\(prefix).name", "must not be empty") }
            if let first = names[client.name] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).name",
                    message: "client name \"\(client.name)\" is already used by radius.clients[\(first)]")
            }
            names[client.name] = index
            // Two entries for the same network would make the shared secret ambiguous; over TLS, two entries for one
            // network are told apart by their certificate names.
            let networkKey = NetworkKey(network: client.network, transport: client.transport, certificateName: client.certificateName)
            if let first = networks[networkKey] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).address",
                    message: "network \(client.network) is already used by radius.clients[\(first)]")
            }
            networks[networkKey] = index
            if client.secret.isEmpty { throw .invalid("\(prefix).secret", "must not be empty") }
            switch client.transport {
            case .udp:
                if client.certificateName != nil {
                    throw .invalid("\(prefix).certificate_name", "only a client with transport = \"tls\" has a certificate")
                }
            case .tls:
                if radius.tls == nil {
                    throw ConfigurationError(
                        code: .missingKey, key: "\(prefix).transport",
                        message: "transport = \"tls\" needs a [radius.tls] table (listen, certificate, private_key, client_ca)")
                }
                if client.certificateName?.isEmpty == true { throw .invalid("\(prefix).certificate_name", "must not be empty") }
            }
        }
    }
}
