/// One NAS allowed to send requests: an entry of `[[radius.clients]]`.
public struct RADIUSClientSettings: Sendable, Equatable {
    /// Required and unique; appears in logs and audit events.
    public var name: String
    /// `address`: the source network requests must come from.
    public var network: IPNetwork
    /// Required, non-empty shared secret.
    public var secret: String
    /// `require_message_authenticator`, default true: drop requests without a valid Message-Authenticator (BlastRADIUS).
    public var requireMessageAuthenticator: Bool
    /// `mode`, default `.auto`.
    public var mode: RADIUSClientMode

    public init(
        name: String, network: IPNetwork, secret: String,
        requireMessageAuthenticator: Bool = true, mode: RADIUSClientMode = .auto
    ) {
        self.name = name
        self.network = network
        self.secret = secret
        self.requireMessageAuthenticator = requireMessageAuthenticator
        self.mode = mode
    }
}

/// How a client's users supply their second factor.
public enum RADIUSClientMode: String, Sendable, Equatable, CaseIterable {
    /// Password and code appended with the delimiter if present, otherwise an Access-Challenge.
    case auto
    /// Always answer the password with an Access-Challenge for the code.
    case challenge
    /// The client already checked the password; User-Password carries only the code.
    case secondFactorOnly = "second-factor-only"
}

extension RADIUSClientSettings {
    static let allowedKeys = ["name", "address", "secret", "require_message_authenticator", "mode"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        let name = try reader.required(reader.string("name"), "name")
        let address = try reader.required(reader.string("address"), "address")
        let network: IPNetwork
        switch IPNetwork.parse(address) {
        case .success(let parsed):
            network = parsed
        case .failure(.invalid):
            throw .invalid(
                reader.key("address"),
                "expected an IPv4 or IPv6 address or network (e.g. \"10.0.0.0/8\", \"fd00::/8\"), got \"\(address)\"")
        case .failure(.hostBitsSet(let suggestion)):
            throw .invalid(
                reader.key("address"), "\"\(address)\" has host bits set; did you mean \"\(suggestion)\"?")
        }
        self.init(
            name: name,
            network: network,
            secret: try reader.required(reader.string("secret"), "secret"),
            requireMessageAuthenticator: try reader.bool("require_message_authenticator") ?? true,
            mode: try reader.choice("mode") ?? .auto)
    }
}
