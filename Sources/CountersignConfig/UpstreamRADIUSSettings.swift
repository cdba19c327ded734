/// One RADIUS server that checks passwords when `primary.source = "radius"`: an entry of `[[primary.radius]]`.
/// Servers are asked in file order.
public struct UpstreamRADIUSSettings: Sendable, Equatable {
    /// `address`: `host:port`, `host` alone for port 1812; IPv6 in brackets (`[2001:db8::1]:1812`). The host is a
    /// literal address or a name, looked up once at startup.
    public var host: String
    public var port: Int
    /// `secret`, the shared secret; or read from `secret_file` at startup (a trailing newline is ignored). One of
    /// the two, never both. A secret: errors never contain it.
    public var secret: String?
    /// `secret_file`; absolute after loading.
    public var secretFile: String?
    /// `timeout`, default 5, 0.1...60: seconds to wait for this server's answer (retransmits included) before the
    /// next server is asked and this one is skipped for `deadTime`.
    public var timeoutSeconds: Double
    /// `require_message_authenticator`, default false: discard replies without a Message-Authenticator (RFC 3579
    /// §3.2). One that is present is always checked; FreeRADIUS before 3.2.5 sends none on Accept or Reject.
    public var requireMessageAuthenticator: Bool

    public static let defaultPort = 1812
    public static let defaultTimeoutSeconds = 5.0
    public static let timeoutRange = 0.1...60.0

    public init(
        host: String, port: Int = UpstreamRADIUSSettings.defaultPort, secret: String? = nil, secretFile: String? = nil,
        timeoutSeconds: Double = UpstreamRADIUSSettings.defaultTimeoutSeconds, requireMessageAuthenticator: Bool = false
    ) {
        self.host = host
        self.port = port
        self.secret = secret
        self.secretFile = secretFile
        self.timeoutSeconds = timeoutSeconds
        self.requireMessageAuthenticator = requireMessageAuthenticator
    }

    /// `host:port` as written in the configuration (IPv6 in brackets).
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `primary.pass_through`: which attributes of the upstream server's Access-Accept go on Countersign's.
public enum PassThroughSelection: Sendable, Equatable {
    /// Every attribute except those that belong to one exchange (`neverPassed`).
    case all
    /// These, by dictionary name (none by default).
    case named([String])

    /// RADIUS attributes that describe one packet or one conversation, never copied from the upstream reply:
    /// Reply-Message and State belong to it (RFC 2865 §5.18, §5.24), Proxy-State to its proxies (§5.33),
    /// Message-Authenticator is computed per packet (RFC 3579 §3.2) and EAP-Message is not relayed.
    public static let neverPassed = ["Reply-Message", "State", "Proxy-State", "EAP-Message", "Message-Authenticator"]

    /// Whether names have to be looked up in the dictionary.
    public var namesAttributes: Bool {
        if case .named(let names) = self { return !names.isEmpty }
        return false
    }
}

extension UpstreamRADIUSSettings {
    static let allowedKeys = ["address", "secret", "secret_file", "timeout", "require_message_authenticator"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        let text = try reader.required(reader.string("address"), "address")
        guard let (host, port) = Self.parseAddress(text) else {
            throw .invalid(
                reader.key("address"),
                "expected \"host:port\" or \"host\" (port 1812), IPv6 in brackets (\"[2001:db8::1]:1812\"), got \"\(text)\"")
        }
        self.init(
            host: host, port: port, secret: try reader.string("secret"), secretFile: try reader.string("secret_file"),
            timeoutSeconds: try reader.seconds("timeout", in: Self.timeoutRange) ?? Self.defaultTimeoutSeconds,
            requireMessageAuthenticator: try reader.bool("require_message_authenticator") ?? false)
    }

    /// `host:port`, `host`, `[v6]:port`, `[v6]` or a bare IPv6 address; nil when malformed.
    static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        var host = Substring(text)
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = Self.port(rest.dropFirst()) else { return nil }
                port = parsed
            }
            guard host.contains(":") else { return nil }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            guard let parsed = Self.port(text[text.index(after: colon)...]) else { return nil }
            port = parsed
        }
        // A bare IPv6 address (several colons) has no port.
        let isName = host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }
        guard !host.isEmpty, isName || IPNetwork.parseAddress(String(host)) != nil else { return nil }
        return (String(host), port)
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(text),
            (1...65535).contains(port)
        else { return nil }
        return port
    }

    func validate(key: String) throws(ConfigurationError) {
        switch (secret, secretFile) {
        case (nil, nil):
            throw ConfigurationError(code: .missingKey, key: "\(key).secret", message: "required (or secret_file)")
        case (.some, .some):
            throw .invalid("\(key).secret_file", "cannot be combined with \(key).secret: use one of them")
        case (.some(let secret), nil):
            if secret.isEmpty { throw .invalid("\(key).secret", "must not be empty") }
        case (nil, .some(let file)):
            if file.isEmpty { throw .invalid("\(key).secret_file", "must not be empty") }
        }
        if !Self.timeoutRange.contains(timeoutSeconds) { throw .outOfRange("\(key).timeout", timeoutSeconds, Self.timeoutRange) }
    }
}
