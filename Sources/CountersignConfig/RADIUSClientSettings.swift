/// One NAS allowed to send requests: an entry of `[[radius.clients]]`.
public struct RADIUSClientSettings: Sendable, Equatable {
    /// Required and unique; appears in logs and audit events.
    public var name: String
    /// `address`: the source network requests must come from.
    public var network: IPNetwork
    /// The shared secret, non-empty: required for `udp`; for `tls`, `radsec` unless set (RFC 6614 §2.3).
    public var secret: String
    /// `require_message_authenticator`, default true: drop requests without a valid Message-Authenticator (BlastRADIUS).
    public var requireMessageAuthenticator: Bool
    /// `mode`, default `.auto`.
    public var mode: RADIUSClientMode
    /// `transport`, default `.udp`: a client is served over one transport only.
    public var transport: RADIUSTransport
    /// `certificate_name`, `tls` clients only, default none: the name the client's certificate must carry, as its
    /// subject's common name or a DNS subjectAltName; without it any certificate `radius.tls.client_ca` verifies will
    /// do from the client's addresses.
    public var certificateName: String?

    /// The shared secret RFC 6614 §2.3 fixes for RADIUS over TLS.
    public static let radsecSecret = "radsec"

    public init(
        name: String, network: IPNetwork, secret: String,
        requireMessageAuthenticator: Bool = true, mode: RADIUSClientMode = .auto, transport: RADIUSTransport = .udp,
        certificateName: String? = nil
    ) {
        self.transport = transport
        self.certificateName = certificateName
        self.name = name
        self.network = network
        self.secret = secret
        self.requireMessageAuthenticator = requireMessageAuthenticator
        self.mode = mode
    }
}

/// How a client's requests arrive.
public enum RADIUSTransport: String, Sendable, Equatable, CaseIterable {
    /// `radius.listen`, datagrams.
    case udp
    /// `[radius.tls]`: RadSec, RFC 6614.
    case tls
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
    static let allowedKeys = [
        "name", "address", "secret", "require_message_authenticator", "mode", "transport", "certificate_name",
    ]

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
        let transport = try reader.choice("transport") ?? RADIUSTransport.udp
        let secret =
            transport == .tls
            ? try reader.string("secret") ?? Self.radsecSecret
            : try reader.required(reader.string("secret"), "secret")
        self.init(
            name: name,
            network: network,
            secret: secret,
            requireMessageAuthenticator: try reader.bool("require_message_authenticator") ?? true,
            mode: try reader.choice("mode") ?? .auto,
            transport: transport,
            certificateName: try reader.string("certificate_name"))
    }
}
