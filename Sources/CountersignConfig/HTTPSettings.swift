import Foundation

/// The HTTP front end: `[http]`. It serves the device API and the auth API for other resources.
public struct HTTPSettings: Sendable, Equatable {
    /// `http.listen`, one `host:port` string, default `127.0.0.1:8080`; port 0 picks a free port.
    public var listen: ListenAddress
    /// `http.public_url`, default `http://127.0.0.1:8080`: the URL devices reach the server at, put into
    /// enrollment URIs and links. Must be `http://` or `https://` with a host; a trailing `/` is removed.
    public var publicURL: String
    /// `[[http.resources]]`, default none.
    public var resources: [AuthAPIResource]
    /// `http.certificate`, default none: PEM certificate (chain) the listener serves HTTPS with; absolute after
    /// loading. Set together with `private_key` or not at all; without them the listener speaks plain HTTP.
    public var certificatePath: String?
    /// `http.private_key`, default none: PEM private key of `certificate`; absolute after loading.
    public var privateKeyPath: String?

    public static let defaultListen = ListenAddress(host: "127.0.0.1", port: 8080)
    public static let defaultPublicURL = "http://127.0.0.1:8080"

    /// The listener serves HTTPS.
    public var servesTLS: Bool { certificatePath != nil && privateKeyPath != nil }

    public init(
        listen: ListenAddress = HTTPSettings.defaultListen,
        publicURL: String = HTTPSettings.defaultPublicURL,
        resources: [AuthAPIResource] = [],
        certificatePath: String? = nil,
        privateKeyPath: String? = nil
    ) {
        self.listen = listen
        self.publicURL = Self.trimmingTrailingSlashes(publicURL)
        self.resources = resources
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }

    /// `https://mfa.example.com/` → `https://mfa.example.com`, so paths can be appended with a single `/`.
    static func trimmingTrailingSlashes(_ url: String) -> String {
        var url = Substring(url)
        while url.hasSuffix("/") { url = url.dropLast() }
        return String(url)
    }
}

/// A resource that uses `POST /v1/auth` (a web portal, an SSH PAM module) with its own API key:
/// an entry of `[[http.resources]]`.
public struct AuthAPIResource: Sendable, Equatable {
    /// Required and unique among resources; appears in logs and audit events.
    public var name: String
    /// `api_key`: required, at least 16 characters, unique among resources.
    public var apiKey: String

    public static let minimumAPIKeyLength = 16

    public init(name: String, apiKey: String) {
        self.name = name
        self.apiKey = apiKey
    }
}

extension HTTPSettings: ConfigurationSection {
    static let tableName = "http"
    static let allowedKeys = ["listen", "public_url", "resources", "certificate", "private_key"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        let resources = try reader.tables("resources", allowedKeys: AuthAPIResource.allowedKeys) ?? []
        self.init(
            listen: try reader.listenAddress("listen") ?? Self.defaultListen,
            publicURL: try reader.string("public_url") ?? Self.defaultPublicURL,
            resources: try resources.map { (resource) throws(ConfigurationError) in
                try AuthAPIResource(reading: resource)
            },
            certificatePath: try reader.string("certificate"),
            privateKeyPath: try reader.string("private_key"))
    }

    /// Makes the certificate and key paths absolute against `baseDirectory` (the config file's folder).
    func resolved(against baseDirectory: String) -> HTTPSettings {
        var settings = self
        settings.certificatePath = PathResolver.absoluteIfSet(certificatePath, base: baseDirectory)
        settings.privateKeyPath = PathResolver.absoluteIfSet(privateKeyPath, base: baseDirectory)
        return settings
    }

    /// Called by `CountersignConfiguration.validate()`.
    func validate() throws(ConfigurationError) {
        try CountersignConfiguration.validate(listen, key: "http.listen")
        try Self.validatePublicURL(publicURL)
        try validateResources()
        try CertificateFiles.validate(certificate: certificatePath, privateKey: privateKeyPath, section: "http")
    }

    private static func validatePublicURL(_ url: String) throws(ConfigurationError) {
        let key = "http.public_url"
        let expected = "expected an http:// or https:// URL with a host (e.g. \"https://mfa.example.com\"), got \"\(url)\""
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else { throw .invalid(key, expected) }
        // Enrollment URIs are built by appending paths; a query or fragment would end up in the wrong place.
        if components.query != nil || components.fragment != nil {
            throw .invalid(key, "must not contain a query or fragment, got \"\(url)\"")
        }
    }

    private func validateResources() throws(ConfigurationError) {
        var names: [String: Int] = [:]
        var keys: [String: Int] = [:]
        for (index, resource) in resources.enumerated() {
            let prefix = "http.resources[\(index)]"
            if resource.name.isEmpty { throw .invalid("\(prefix).name", "must not be empty") }
            if let first = names[resource.name] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).name",
                    message: "resource name \"\(resource.name)\" is already used by http.resources[\(first)]")
            }
            names[resource.name] = index
            // Messages never repeat the key itself: errors end up in logs.
            if resource.apiKey.count < AuthAPIResource.minimumAPIKeyLength {
                throw .invalid(
                    "\(prefix).api_key",
                    "must be at least \(AuthAPIResource.minimumAPIKeyLength) characters, got \(resource.apiKey.count)")
            }
            // A shared key would make the calling resource ambiguous.
            if let first = keys[resource.apiKey] {
                throw ConfigurationError(
                    code: .duplicate, key: "\(prefix).api_key",
                    message: "this API key is already used by http.resources[\(first)]")
            }
            keys[resource.apiKey] = index
        }
    }
}

extension AuthAPIResource {
    static let allowedKeys = ["name", "api_key"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            name: try reader.required(reader.string("name"), "name"),
            apiKey: try reader.required(reader.string("api_key"), "api_key"))
    }
}
