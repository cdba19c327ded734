import CountersignConfig
import Hummingbird
import NIOCore

/// The HTTP listener's request context: Hummingbird's basic one, plus both ends of the connection, by which the
/// operations endpoints tell a request from this machine.
public struct CountersignRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?

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
