import Foundation
import Logging
import MFACore
import NIOCore
import NIOPosix
import RADIUSCodec
import ServiceLifecycle

/// A RADIUS client for the upstream servers that check passwords (`primary.source = "radius"`): each request goes
/// to the servers in order until one answers, and a server that let one time out is skipped for `deadTime`. A
/// `Service` so that the gateway closes its sockets at shutdown.
public final class UpstreamRADIUSClient: Service, Sendable {
    public struct Server: Sendable {
        public var address: SocketAddress
        /// How logs name it: the configured `host:port`.
        public var label: String
        public var secret: [UInt8]
        public var timeout: TimeAmount
        public var requireMessageAuthenticator: Bool

        public init(address: SocketAddress, label: String, secret: [UInt8], timeout: TimeAmount, requireMessageAuthenticator: Bool) {
            self.address = address
            self.label = label
            self.secret = secret
            self.timeout = timeout
            self.requireMessageAuthenticator = requireMessageAuthenticator
        }
    }

    public let servers: [Server]
    private let health: Locked<UpstreamServerHealth>
    private let ipv4: UpstreamSocketPool
    private let ipv6: UpstreamSocketPool
    private let clock: any WallClock
    private let retransmits: Int
    private let logger: Logger

    /// 30 s, as FreeRADIUS's `zombie_period` and Duo's proxy give a server that stopped answering.
    public static let defaultDeadTime: TimeInterval = 30

    /// `retransmits`: sends of the same request within a server's timeout after the first (UDP loses datagrams).
    /// `maximumSocketsPerFamily` × 256 requests can be in flight at once; more wait for a free Identifier.
    public init(
        servers: [Server], clock: any WallClock = SystemWallClock(), deadTime: TimeInterval = UpstreamRADIUSClient.defaultDeadTime,
        retransmits: Int = 2, maximumSocketsPerFamily: Int = 16,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "countersign.radius-upstream")
    ) {
        precondition(!servers.isEmpty && servers.count <= 256, "1 to 256 upstream servers")
        self.servers = servers
        health = Locked(UpstreamServerHealth(servers: servers.count, deadTime: deadTime))
        ipv4 = UpstreamSocketPool(bindHost: "0.0.0.0", maximumSockets: maximumSocketsPerFamily, group: group, logger: logger)
        ipv6 = UpstreamSocketPool(bindHost: "::", maximumSockets: maximumSocketsPerFamily, group: group, logger: logger)
        self.clock = clock
        self.retransmits = retransmits
        self.logger = logger
    }

    /// Asks the servers in order, skipping those found dead lately; the first reply and the index of the server
    /// that sent it, nil when none answered.
    public func send(_ request: UpstreamAccessRequest) async -> (server: Int, reply: RADIUSPacket)? {
        for server in health.withLock({ $0.order(now: clock.now()) }) {
            if let reply = await send(request, to: server) { return (server, reply) }
        }
        return nil
    }

    /// Asks one server (the one whose challenge is being answered: its State means nothing to the others).
    public func send(_ request: UpstreamAccessRequest, to index: Int) async -> RADIUSPacket? {
        let server = servers[index]
        let pool = server.address.protocol == .inet6 ? ipv6 : ipv4
        let reply = await pool.exchange(with: server.address, timeout: server.timeout, retransmits: retransmits) { identifier in
            let authenticator = SecureRandom.bytes(16)
            let check = UpstreamReplyCheck(
                identifier: identifier, requestAuthenticator: authenticator, secret: server.secret,
                requireMessageAuthenticator: server.requireMessageAuthenticator)
            return (request.encoded(identifier: identifier, authenticator: authenticator, secret: server.secret), check)
        }
        let now = clock.now()
        let wasDead = health.withLock { health in
            let wasDead = health.isDead(index, now: now)
            if reply == nil { health.noAnswer(from: index, now: now) } else { health.answered(by: index) }
            return wasDead
        }
        if reply == nil, !wasDead {
            logger.warning(
                "upstream RADIUS server did not answer; skipped for a while",
                metadata: ["server": "\(server.label)", "skipped_seconds": "\(health.withLock { $0.deadTime })"])
        }
        return reply
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    public func close() async {
        await ipv4.close()
        await ipv6.close()
    }
}
