import Foundation

/// The LDAP bind proxy in front of the real directory: `[ldap]` and its `[ldap.upstream]`.
/// Off unless `listen` or `ldaps_listen` is set.
public struct LDAPSettings: Sendable, Equatable {
    /// `ldap.listen`, one `host:port` string, default none: plain LDAP, with StartTLS offered when a
    /// certificate is set.
    public var listen: ListenAddress?
    /// `ldap.ldaps_listen`, one `host:port` string, default none: LDAP over TLS. Requires `certificate`.
    public var ldapsListen: ListenAddress?
    /// `ldap.certificate`, default none: PEM certificate (chain) served to LDAP clients; absolute after loading.
    /// Required when `ldaps_listen` is set; enables StartTLS on `listen` when set.
    public var certificatePath: String?
    /// `ldap.private_key`, default none: PEM private key of `certificate`; absolute after loading.
    /// Set together with `certificate` or not at all.
    public var privateKeyPath: String?
    /// `[ldap.upstream]`.
    public var upstream: LDAPUpstreamSettings
    /// `ldap.username_attribute`, default `uid`: the RDN attribute of a bind DN that names the user
    /// (`uid=alice,ou=people,…` → `alice`). Letters, digits and `-`, starting with a letter.
    public var usernameAttribute: String
    /// `ldap.exempt`, default none: DNs, or DN suffixes, that bind without a second factor (service accounts).
    /// Entries must not be empty.
    public var exempt: [String]
    /// `ldap.allow_anonymous`, default false: pass anonymous binds (empty DN and password) to the directory.
    public var allowAnonymous: Bool
    /// `ldap.idle_timeout`, default 300, 1...86400: seconds an idle client connection is kept open.
    public var idleTimeoutSeconds: Int
    /// `ldap.max_message_size`, default 1048576 (1 MiB), 1024...16777216: larger LDAP messages close the connection.
    public var maximumMessageSize: Int
    /// `ldap.client_failure_rate`, default 20, 0...1000000: failed binds per second each client address is allowed over
    /// time (its bucket refills at this rate). 0 turns the limit off.
    public var clientFailureRate: Int
    /// `ldap.client_failure_burst`, default 100, 0...1000000: failed binds a client address may make in a row before
    /// its binds are refused without asking the directory. 0 turns the limit off.
    public var clientFailureBurst: Int
    /// `ldap.max_connections`, default 1024, 1...1000000: client connections open at once; more are closed as they
    /// arrive.
    public var maxConnections: Int

    public static let defaultUsernameAttribute = "uid"
    public static let defaultIdleTimeoutSeconds = 300
    public static let idleTimeoutRange = 1...86400
    public static let defaultMaximumMessageSize = 1_048_576
    public static let maximumMessageSizeRange = 1024...16_777_216
    // The same brake as `[radius]`'s, per client address.
    public static let defaultClientFailureRate = RADIUSSettings.defaultClientFailureRate
    public static let defaultClientFailureBurst = RADIUSSettings.defaultClientFailureBurst
    public static let clientFailureRange = RADIUSSettings.clientFailureRange
    public static let defaultMaxConnections = 1024
    public static let maxConnectionsRange = 1...1_000_000

    /// The proxy runs when it has at least one address to listen on.
    public var isEnabled: Bool { listen != nil || ldapsListen != nil }

    public init(
        listen: ListenAddress? = nil,
        ldapsListen: ListenAddress? = nil,
        certificatePath: String? = nil,
        privateKeyPath: String? = nil,
        upstream: LDAPUpstreamSettings = LDAPUpstreamSettings(),
        usernameAttribute: String = LDAPSettings.defaultUsernameAttribute,
        exempt: [String] = [],
        allowAnonymous: Bool = false,
        idleTimeoutSeconds: Int = LDAPSettings.defaultIdleTimeoutSeconds,
        maximumMessageSize: Int = LDAPSettings.defaultMaximumMessageSize,
        clientFailureRate: Int = LDAPSettings.defaultClientFailureRate,
        clientFailureBurst: Int = LDAPSettings.defaultClientFailureBurst,
        maxConnections: Int = LDAPSettings.defaultMaxConnections
    ) {
        self.listen = listen
        self.ldapsListen = ldapsListen
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.upstream = upstream
        self.usernameAttribute = usernameAttribute
        self.exempt = exempt
        self.allowAnonymous = allowAnonymous
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maximumMessageSize = maximumMessageSize
        self.clientFailureRate = clientFailureRate
        self.clientFailureBurst = clientFailureBurst
        self.maxConnections = maxConnections
    }

    /// An LDAP attribute name as RFC 4512 calls a `keystring`: an ASCII letter, then ASCII letters, digits and `-`.
    /// Used for names that end up in DNs and search filters, so nothing else may slip in.
    static func isAttributeName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}

/// `[ldap.upstream]`: the real directory. Used by the proxy and by `primary.source = "ldap"`.
public struct LDAPUpstreamSettings: Sendable, Equatable {
    /// `url`, default none: `ldap://host[:port]` or `ldaps://host[:port]`; the port defaults to 389 or 636.
    /// The host may be a name, an IPv4 address or an IPv6 address in brackets.
    public var url: String?
    /// `starttls`, default false: upgrade an `ldap://` connection with StartTLS. Not allowed with `ldaps://`.
    public var startTLS: Bool
    /// `ca`, default none (the system trust store): PEM bundle that verifies the directory's certificate;
    /// absolute after loading.
    public var caPath: String?
    /// `verify_certificate`, default true.
    public var verifyCertificate: Bool
    /// `timeout`, default 10, 1...300: seconds for connecting and for each operation.
    public var timeoutSeconds: Int

    public static let defaultTimeoutSeconds = 10
    public static let timeoutRange = 1...300
    public static let defaultLDAPPort = 389
    public static let defaultLDAPSPort = 636

    public init(
        url: String? = nil,
        startTLS: Bool = false,
        caPath: String? = nil,
        verifyCertificate: Bool = true,
        timeoutSeconds: Int = LDAPUpstreamSettings.defaultTimeoutSeconds
    ) {
        self.url = url
        self.startTLS = startTLS
        self.caPath = caPath
        self.verifyCertificate = verifyCertificate
        self.timeoutSeconds = timeoutSeconds
    }

    /// The URL's host (IPv6 without brackets); nil when `url` is absent or invalid.
    public var host: String? { endpoint?.host }
    /// The URL's port, or 389 / 636 when the URL has none; nil when `url` is absent or invalid.
    public var port: Int? { endpoint?.port }
    /// True for an `ldaps://` URL (TLS from the first byte).
    public var usesTLS: Bool { endpoint?.usesTLS ?? false }

    struct Endpoint: Equatable {
        var usesTLS: Bool
        var host: String
        var port: Int
    }

    private var endpoint: Endpoint? {
        guard let url, case .success(let endpoint) = Self.parse(url) else { return nil }
        return endpoint
    }

    /// Parses `ldap[s]://host[:port][/]`; the failure's key is left for the caller to set.
    /// A path (base DN), query, fragment or user info is refused: the URL only says where the directory is.
    static func parse(_ url: String) -> Result<Endpoint, ConfigurationError> {
        let expected = "expected \"ldap://host[:port]\" or \"ldaps://host[:port]\", got \"\(url)\""
        let usesTLS: Bool
        var rest: Substring
        if let range = url.range(of: "ldaps://", options: [.caseInsensitive, .anchored]) {
            usesTLS = true
            rest = url[range.upperBound...]
        } else if let range = url.range(of: "ldap://", options: [.caseInsensitive, .anchored]) {
            usesTLS = false
            rest = url[range.upperBound...]
        } else {
            return .failure(ConfigurationError(code: .invalidValue, message: expected))
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains(where: { "/?#@".contains($0) }) {
            return .failure(ConfigurationError(
                code: .invalidValue,
                message: "must not contain a path, query, fragment or user info, got \"\(url)\""))
        }

        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                return .failure(ConfigurationError(code: .invalidValue, message: expected))
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ConfigurationError(code: .invalidValue, message: expected)) }
                portText = after.dropFirst()
            }
            guard host.contains(":"), IPNetwork.parseAddress(String(host)) != nil else {
                return .failure(ConfigurationError(
                    code: .invalidValue, message: "\"\(host)\" in brackets must be an IPv6 address, got \"\(url)\""))
            }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                return .failure(ConfigurationError(
                    code: .invalidValue, message: "\(expected) (IPv6 in brackets: \"ldap://[::1]:389\")"))
            }
            host = parts[0]
            if parts.count == 2 { portText = parts[1] }
            let hostCharacters = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }
            guard !host.isEmpty, hostCharacters else {
                return .failure(ConfigurationError(code: .invalidValue, message: expected))
            }
        }

        var port = usesTLS ? defaultLDAPSPort : defaultLDAPPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 18, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText)
            else {
                return .failure(ConfigurationError(code: .invalidValue, message: "port in \"\(url)\" is not a number"))
            }
            guard (1...65535).contains(number) else {
                return .failure(ConfigurationError(
                    code: .outOfRange, message: "port must be between 1 and 65535, got \(number)"))
            }
            port = number
        }
        return .success(Endpoint(usesTLS: usesTLS, host: String(host), port: port))
    }
}

extension LDAPSettings: ConfigurationSection {
    static let tableName = "ldap"
    static let allowedKeys = [
        "listen", "ldaps_listen", "certificate", "private_key", LDAPUpstreamSettings.tableName,
        "username_attribute", "exempt", "allow_anonymous", "idle_timeout", "max_message_size", "client_failure_rate",
        "client_failure_burst", "max_connections",
    ]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            listen: try reader.listenAddress("listen"),
            ldapsListen: try reader.listenAddress("ldaps_listen"),
            certificatePath: try reader.string("certificate"),
            privateKeyPath: try reader.string("private_key"),
            upstream: try LDAPUpstreamSettings(
                reading: reader.table(LDAPUpstreamSettings.tableName, allowedKeys: LDAPUpstreamSettings.allowedKeys)),
            usernameAttribute: try reader.string("username_attribute") ?? Self.defaultUsernameAttribute,
            exempt: try reader.strings("exempt")?.map(\.value) ?? [],
            allowAnonymous: try reader.bool("allow_anonymous") ?? false,
            idleTimeoutSeconds: try reader.integer("idle_timeout") ?? Self.defaultIdleTimeoutSeconds,
            maximumMessageSize: try reader.integer("max_message_size") ?? Self.defaultMaximumMessageSize,
            clientFailureRate: try reader.integer("client_failure_rate", in: Self.clientFailureRange) ?? Self.defaultClientFailureRate,
            clientFailureBurst: try reader.integer("client_failure_burst", in: Self.clientFailureRange) ?? Self.defaultClientFailureBurst,
            maxConnections: try reader.integer("max_connections", in: Self.maxConnectionsRange) ?? Self.defaultMaxConnections)
    }

    /// Makes the certificate, key and CA paths absolute against `baseDirectory` (the config file's folder).
    /// Empty paths are kept so validation reports them.
    func resolved(against baseDirectory: String) -> LDAPSettings {
        var settings = self
        settings.certificatePath = PathResolver.absoluteIfSet(certificatePath, base: baseDirectory)
        settings.privateKeyPath = PathResolver.absoluteIfSet(privateKeyPath, base: baseDirectory)
        settings.upstream.caPath = PathResolver.absoluteIfSet(upstream.caPath, base: baseDirectory)
        return settings
    }

    /// Called by `CountersignConfiguration.validate()`.
    func validate() throws(ConfigurationError) {
        if let listen { try CountersignConfiguration.validate(listen, key: "ldap.listen") }
        if let ldapsListen { try CountersignConfiguration.validate(ldapsListen, key: "ldap.ldaps_listen") }
        if let listen, let ldapsListen, listen == ldapsListen, listen.port != 0 {
            throw ConfigurationError(
                code: .duplicate, key: "ldap.ldaps_listen", message: "\(ldapsListen) is already used by ldap.listen")
        }

        try CertificateFiles.validate(certificate: certificatePath, privateKey: privateKeyPath, section: "ldap")
        if ldapsListen != nil, certificatePath == nil {
            throw ConfigurationError(
                code: .missingKey, key: "ldap.certificate", message: "required when ldap.ldaps_listen is set")
        }

        if !Self.isAttributeName(usernameAttribute) {
            throw .invalid(
                "ldap.username_attribute",
                "must be an attribute name (letters, digits and \"-\", starting with a letter), got \"\(usernameAttribute)\"")
        }
        for (index, entry) in exempt.enumerated() where entry.allSatisfy(\.isWhitespace) {
            throw .invalid("ldap.exempt[\(index)]", "must not be empty")
        }
        if !Self.idleTimeoutRange.contains(idleTimeoutSeconds) {
            throw .outOfRange("ldap.idle_timeout", idleTimeoutSeconds, Self.idleTimeoutRange)
        }
        if !Self.maximumMessageSizeRange.contains(maximumMessageSize) {
            throw .outOfRange("ldap.max_message_size", maximumMessageSize, Self.maximumMessageSizeRange)
        }
        for (key, value) in [("client_failure_rate", clientFailureRate), ("client_failure_burst", clientFailureBurst)]
        where !Self.clientFailureRange.contains(value) {
            throw .outOfRange("ldap.\(key)", value, Self.clientFailureRange)
        }
        if !Self.maxConnectionsRange.contains(maxConnections) {
            throw .outOfRange("ldap.max_connections", maxConnections, Self.maxConnectionsRange)
        }

        try upstream.validate()
        if isEnabled, upstream.url == nil {
            throw ConfigurationError(
                code: .missingKey, key: "ldap.upstream.url",
                message: "required when ldap.listen or ldap.ldaps_listen is set (the directory to forward binds to)")
        }
    }
}

extension LDAPUpstreamSettings {
    /// Nested in `[ldap]`.
    static let tableName = "upstream"
    static let allowedKeys = ["url", "starttls", "ca", "verify_certificate", "timeout"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            url: try reader.string("url"),
            startTLS: try reader.bool("starttls") ?? false,
            caPath: try reader.string("ca"),
            verifyCertificate: try reader.bool("verify_certificate") ?? true,
            timeoutSeconds: try reader.integer("timeout") ?? Self.defaultTimeoutSeconds)
    }

    func validate() throws(ConfigurationError) {
        var endpoint: Endpoint?
        if let url {
            switch Self.parse(url) {
            case .success(let parsed): endpoint = parsed
            case .failure(var error):
                error.key = "ldap.upstream.url"
                throw error
            }
        }
        if startTLS, endpoint?.usesTLS == true {
            throw .invalid("ldap.upstream.starttls", "cannot be used with an ldaps:// URL, which is TLS from the start")
        }
        if caPath?.isEmpty == true { throw .invalid("ldap.upstream.ca", "must not be empty") }
        if !Self.timeoutRange.contains(timeoutSeconds) {
            throw .outOfRange("ldap.upstream.timeout", timeoutSeconds, Self.timeoutRange)
        }
    }
}
