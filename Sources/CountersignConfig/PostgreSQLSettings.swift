import Foundation

/// The PostgreSQL server of `backend = "postgresql"`: `store.url`, `password_file`, `tls`, `ca`. The password is
/// never in the file itself: it comes from `COUNTERSIGN_DATABASE_PASSWORD` or from `password_file`.
public struct PostgreSQLSettings: Sendable, Equatable {
    /// How the connection is encrypted (the meaning of libpq's `sslmode` values of the same names).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it. The certificate is verified against `ca` when one is set; without one the
        /// connection is encrypted but the server is not authenticated, as with libpq.
        case prefer
        /// TLS or no connection; the certificate is verified against `ca`, or the system's trust store.
        case require
    }

    /// From `store.url`, `postgresql://user@host[:port]/database`.
    public var host: String
    public var port: Int
    public var username: String
    public var database: String
    /// `store.password_file`, default none: a file holding the password (a trailing newline is ignored); absolute after
    /// loading. `COUNTERSIGN_DATABASE_PASSWORD` wins when it is set.
    public var passwordFile: String?
    /// `store.tls`, default `prefer`.
    public var tls: TLSMode
    /// `store.ca`, default none: a PEM bundle that verifies the server's certificate; absolute after loading.
    public var caPath: String?

    public static let defaultPort = 5432
    /// The variable that holds the database password.
    public static let passwordVariable = "COUNTERSIGN_DATABASE_PASSWORD"
    static let keys = ["url", "password_file", "tls", "ca"]

    public init(
        host: String, port: Int = PostgreSQLSettings.defaultPort, username: String, database: String,
        passwordFile: String? = nil, tls: TLSMode = .prefer, caPath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.database = database
        self.passwordFile = passwordFile
        self.tls = tls
        self.caPath = caPath
    }

    /// Where the server is, without the password: for messages and `config check`.
    public var url: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgresql://\(username)@\(shownHost):\(port)/\(database)"
    }

    init(reading reader: TableReader) throws(ConfigurationError) {
        let url = try reader.required(try reader.string("url"), "url")
        let endpoint: Endpoint
        switch Self.parse(url) {
        case .success(let parsed): endpoint = parsed
        case .failure(var error):
            error.key = reader.key("url")
            throw error
        }
        self.init(
            host: endpoint.host, port: endpoint.port, username: endpoint.username, database: endpoint.database,
            passwordFile: try reader.string("password_file"), tls: try reader.choice("tls") ?? .prefer,
            caPath: try reader.string("ca"))
    }

    func resolved(against baseDirectory: String) -> PostgreSQLSettings {
        var settings = self
        settings.passwordFile = PathResolver.absoluteIfSet(passwordFile, base: baseDirectory)
        settings.caPath = PathResolver.absoluteIfSet(caPath, base: baseDirectory)
        return settings
    }

    func validate() throws(ConfigurationError) {
        if passwordFile?.isEmpty == true { throw .invalid("store.password_file", "must not be empty") }
        if caPath?.isEmpty == true { throw .invalid("store.ca", "must not be empty") }
        if caPath != nil, tls == .disable { throw .invalid("store.ca", "verifies TLS, which tls = \"disable\" turns off") }
        if !(1...65535).contains(port) { throw .outOfRange("store.url", port, 1...65535) }
        if host.isEmpty || username.isEmpty || database.isEmpty {
            throw .invalid("store.url", "needs a host, a user and a database, got \"\(url)\"")
        }
    }

    struct Endpoint: Equatable {
        var host: String
        var port: Int
        var username: String
        var database: String
    }

    /// Parses `postgresql://user@host[:port]/database` (or `postgres://`, RFC 3986 syntax, user and database
    /// percent-decoded); the failure's key is left for the caller to set. A password in the URL is refused before
    /// anything else, and that error repeats nothing of the URL. TLS has keys of its own, so a query is refused too.
    static func parse(_ url: String) -> Result<Endpoint, ConfigurationError> {
        let expected = "expected \"postgresql://user@host[:port]/database\", got \"\(url)\""
        guard let scheme = ["postgresql://", "postgres://"].first(where: { url.lowercased().hasPrefix($0) }) else {
            return .failure(ConfigurationError(code: .invalidValue, message: expected))
        }
        let rest = url.dropFirst(scheme.count)
        // Before the last "@" of all, not just of the authority: a password may hold "/", "?" or "#" unescaped.
        if let at = rest.lastIndex(of: "@"), rest[..<at].contains(":") {
            return .failure(
                ConfigurationError(
                    code: .invalidValue,
                    message: "must not hold a password: set \(passwordVariable) or store.password_file instead"))
        }
        let authority = rest.prefix { !"/?#".contains($0) }
        if rest.contains(where: { "?#".contains($0) }) {
            return .failure(
                ConfigurationError(
                    code: .invalidValue,
                    message: "must not have a query or fragment (TLS is set by store.tls and store.ca), got \"\(url)\""))
        }
        guard let at = authority.lastIndex(of: "@"), let username = authority[..<at].removingPercentEncoding,
            !username.isEmpty
        else {
            return .failure(ConfigurationError(code: .invalidValue, message: "needs a user: \(expected)"))
        }
        let path = rest.dropFirst(authority.count)
        guard path.hasPrefix("/"), let database = path.dropFirst().removingPercentEncoding, !database.isEmpty,
            !database.contains("/")
        else {
            return .failure(ConfigurationError(code: .invalidValue, message: "needs a database: \(expected)"))
        }
        switch hostAndPort(authority[authority.index(after: at)...]) {
        case .success(let (host, port)):
            return .success(Endpoint(host: host, port: port, username: username, database: database))
        case .failure(let error):
            return .failure(ConfigurationError(code: error.code, message: error.message + ": \(expected)"))
        }
    }

    /// `host`, `host:port`, `[IPv6]` or `[IPv6]:port`.
    private static func hostAndPort(_ text: Substring) -> Result<(String, Int), ConfigurationError> {
        var host = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(ConfigurationError(code: .invalidValue, message: "unclosed \"[\""))
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(ConfigurationError(code: .invalidValue, message: "bad port")) }
                portText = after.dropFirst()
            }
            guard IPNetwork.parseAddress(String(host)) != nil else {
                return .failure(ConfigurationError(code: .invalidValue, message: "\"\(host)\" in brackets is not an IPv6 address"))
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let hostCharacters = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.:".contains($0)) }
        guard !host.isEmpty, hostCharacters else {
            return .failure(ConfigurationError(code: .invalidValue, message: "needs a host"))
        }
        guard let portText else { return .success((String(host), defaultPort)) }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText),
            (1...65535).contains(port)
        else {
            return .failure(ConfigurationError(code: .invalidValue, message: "the port must be a number from 1 to 65535"))
        }
        return .success((String(host), port))
    }
}
