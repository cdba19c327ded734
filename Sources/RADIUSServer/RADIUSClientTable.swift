import CountersignConfig
import MFACore

/// A NAS allowed to talk to us, with its own secret and its way of sending the second factor.
public struct RADIUSClient: Sendable {
    /// The client's place in the configuration: what per-client state is keyed by.
    public var id = 0
    public var name: String
    public var network: IPNetwork
    public var secret: [UInt8]
    public var requireMessageAuthenticator: Bool
    public var mode: RADIUSClientMode
    public var transport: RADIUSTransport
    /// For a RadSec client: the name its certificate must carry (common name or DNS subjectAltName); nil: any
    /// certificate the client CA verifies.
    public var certificateName: String?
    /// The client's bucket of failed attempts (`radius.client_failure_rate` / `_burst`), nil when the limit is off.
    /// One per configured client, shared by every socket.
    var failureLimit: FailureRateLimit?

    public init(_ settings: RADIUSClientSettings) {
        name = settings.name
        network = settings.network
        secret = Array(settings.secret.utf8)
        requireMessageAuthenticator = settings.requireMessageAuthenticator
        mode = settings.mode
        transport = settings.transport
        certificateName = settings.certificateName
    }

    /// What the client's requests are logged in to (audit events, challenge binding).
    var resource: Resource { Resource(kind: .radius, name: name) }
}

/// Source address → client, longest prefix first, so a /32 for one NAS overrides the /24 around it.
struct RADIUSClientTable: Sendable {
    private let clients: [RADIUSClient]

    init(_ clients: [RADIUSClient]) {
        self.clients = clients.sorted { $0.network.prefixLength > $1.network.prefixLength }
    }

    func client(for address: [UInt8]) -> RADIUSClient? {
        clients.first { $0.network.contains(address) }
    }

    /// Whether some client's network holds `address`: a RadSec connection from anywhere else is closed before its
    /// handshake.
    func knows(_ address: [UInt8]) -> Bool {
        client(for: address) != nil
    }

    /// The client a RadSec connection from `address` is, given the names its verified certificate carries: the
    /// longest prefix holding the address whose `certificate_name`, when it has one, is among them (lowercased: DNS
    /// names compare without case).
    func client(for address: [UInt8], certificateNames: Set<String>) -> RADIUSClient? {
        clients.first { client in
            client.network.contains(address) && client.certificateName.map { certificateNames.contains($0.lowercased()) } ?? true
        }
    }
}
