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
    /// The client's bucket of failed attempts (`radius.client_failure_rate` / `_burst`), nil when the limit is off.
    /// One per configured client, shared by every socket.
    var failureLimit: FailureRateLimit?

    public init(_ settings: RADIUSClientSettings) {
        name = settings.name
        network = settings.network
        secret = Array(settings.secret.utf8)
        requireMessageAuthenticator = settings.requireMessageAuthenticator
        mode = settings.mode
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
}
