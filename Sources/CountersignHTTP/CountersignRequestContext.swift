import CountersignConfig
import Hummingbird
import NIOCore
import WebConsole

/// The HTTP listener's request context: Hummingbird's basic one, plus both ends of the connection, by which the
/// operations endpoints tell a request from this machine.
public struct CountersignRequestContext: RequestContext, RemoteAddressRequestContext, WebSessionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?
    /// The admin console's session, once its middleware checked the cookie.
    public var webSession: WebSession?
    public var clientAddress: String? { remoteAddress?.ipAddress }

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        remoteAddress = source.channel.remoteAddress
        localAddress = source.channel.localAddress
    }

    /// A loopback peer, or one whose address is the one it reached: a connection to one of this machine's own
    /// addresses comes from that address.
    var isFromThisMachine: Bool {
        guard let remote = remoteAddress?.ipAddress else { return false }
        return ListenAddress(host: remote, port: 0).isLoopback || remote == localAddress?.ipAddress
    }
}
