/// RADIUS over TLS (RadSec, RFC 6614): `[radius.tls]`. Off unless the table is present; its clients are the
/// `[[radius.clients]]` entries with `transport = "tls"`.
public struct RADIUSTLSSettings: Sendable, Equatable {
    /// `radius.tls.listen`, TCP addresses as `host:port`, default `["127.0.0.1:2083"]` (RFC 6614 §2.1's port).
    public var listen: [ListenAddress]
    /// `radius.tls.certificate`: PEM certificate (chain) served to clients; required; absolute after loading.
    public var certificatePath: String?
    /// `radius.tls.private_key`: PEM private key of `certificate`; required; absolute after loading.
    public var privateKeyPath: String?
    /// `radius.tls.client_ca`: PEM bundle of the CAs that client certificates must chain to; required (RFC 6614 §2.3:
    /// both sides are authenticated); absolute after loading.
    public var clientCAPath: String?
    /// `radius.tls.idle_timeout`, default 300, 1...86400: seconds a connection may stay silent before it is closed.
    public var idleTimeoutSeconds: Int
    /// `radius.tls.max_connections`, default 1024, 1...1000000: connections open at once; more are closed as they
    /// arrive.
    public var maxConnections: Int
    /// `radius.tls.max_connections_per_address`, default 16, 1...1000000: connections open at once from one source
    /// address.
    public var maxConnectionsPerAddress: Int

    public static let defaultListen = [ListenAddress(host: "127.0.0.1", port: 2083)]
    public static let defaultIdleTimeoutSeconds = 300
    public static let idleTimeoutRange = 1...86400
    public static let defaultMaxConnections = 1024
    public static let defaultMaxConnectionsPerAddress = 16
    public static let maxConnectionsRange = 1...1_000_000

    public init(
        listen: [ListenAddress] = RADIUSTLSSettings.defaultListen,
        certificatePath: String?,
        privateKeyPath: String?,
        clientCAPath: String?,
        idleTimeoutSeconds: Int = RADIUSTLSSettings.defaultIdleTimeoutSeconds,
        maxConnections: Int = RADIUSTLSSettings.defaultMaxConnections,
        maxConnectionsPerAddress: Int = RADIUSTLSSettings.defaultMaxConnectionsPerAddress
    ) {
        self.listen = listen
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}

extension RADIUSTLSSettings {
    /// Nested in `[radius]`.
    static let tableName = "tls"
    static let allowedKeys = [
        "listen", "certificate", "private_key", "client_ca", "idle_timeout", "max_connections", "max_connections_per_address",
    ]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            listen: try reader.listenAddresses("listen") ?? Self.defaultListen,
            certificatePath: try reader.string("certificate"),
            privateKeyPath: try reader.string("private_key"),
            clientCAPath: try reader.string("client_ca"),
            idleTimeoutSeconds: try reader.integer("idle_timeout", in: Self.idleTimeoutRange) ?? Self.defaultIdleTimeoutSeconds,
            maxConnections: try reader.integer("max_connections", in: Self.maxConnectionsRange) ?? Self.defaultMaxConnections,
            maxConnectionsPerAddress: try reader.integer("max_connections_per_address", in: Self.maxConnectionsRange)
                ?? Self.defaultMaxConnectionsPerAddress)
    }

    /// Makes the certificate, key and CA paths absolute against `baseDirectory` (the config file's folder).
    func resolved(against baseDirectory: String) -> RADIUSTLSSettings {
        var settings = self
        settings.certificatePath = PathResolver.absoluteIfSet(certificatePath, base: baseDirectory)
        settings.privateKeyPath = PathResolver.absoluteIfSet(privateKeyPath, base: baseDirectory)
        settings.clientCAPath = PathResolver.absoluteIfSet(clientCAPath, base: baseDirectory)
        return settings
    }

    func validate() throws(ConfigurationError) {
        if listen.isEmpty { throw .invalid("radius.tls.listen", "at least one address is required") }
        for (index, address) in listen.enumerated() {
            try CountersignConfiguration.validate(address, key: "radius.tls.listen[\(index)]")
        }
        try CertificateFiles.validate(certificate: certificatePath, privateKey: privateKeyPath, section: "radius.tls")
        if certificatePath == nil { throw .missing("radius.tls.certificate") }
        // Without it any certificate from anywhere would do: client certificates are what RadSec authenticates by.
        guard let clientCAPath else { throw .missing("radius.tls.client_ca") }
        if clientCAPath.isEmpty { throw .invalid("radius.tls.client_ca", "must not be empty") }
        if !Self.idleTimeoutRange.contains(idleTimeoutSeconds) {
            throw .outOfRange("radius.tls.idle_timeout", idleTimeoutSeconds, Self.idleTimeoutRange)
        }
        for (key, value) in [("max_connections", maxConnections), ("max_connections_per_address", maxConnectionsPerAddress)]
        where !Self.maxConnectionsRange.contains(value) {
            throw .outOfRange("radius.tls.\(key)", value, Self.maxConnectionsRange)
        }
    }
}
