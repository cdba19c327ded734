import CountersignConfig
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import MFACore
import NIOCore
import NIOPosix
import ServerSupport
import ServiceLifecycle

/// The RADIUS authentication service: for each address in `radius.listen`, one UDP socket per event loop on the same
/// port (SO_REUSEPORT), so every core reads and answers. The kernel picks the socket by the sender's address and
/// port, so a NAS's retransmissions reach the socket, and the duplicate cache, that saw the first copy. With
/// `[radius.tls]`, RadSec listeners too, for the clients with `transport = "tls"`; both feed the same request step.
public final class RADIUSServer: Service {
    private let settings: RADIUSSettings
    /// The clients that send datagrams.
    private let clients: RADIUSClientTable
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners = ListenerSet()
    private let inFlight = InFlightRequests()
    /// What each socket's and connection's request loop is built from.
    private let loop: RADIUSRequestLoop
    /// `[radius.tls]`, when set.
    private let radsec: RadSecListener?
    /// Requests shed, by reason and client (also logged).
    public let drops: DropReport
    /// How long a graceful shutdown waits for logins under way before closing the sockets.
    public static let drainTimeout: Duration = .seconds(8)
    static let receiveBufferBytes: SocketOptionValue = 4 << 20
    static let datagramsPerRead = 16

    /// `clock` times the clients' failure buckets; `audit` gets `client_rate_limited`; `drops` hears of every request
    /// shed (its own when nil). Throws when `[radius.tls]`'s certificate, key or client CA cannot be loaded.
    public init(
        settings: RADIUSSettings, authenticator: any LoginAuthenticator, clock: any WallClock = SystemWallClock(),
        audit: (any AuditSink)? = nil, drops: DropReport? = nil, counters: (any RADIUSCounters)? = nil,
        availability: StoreAvailability? = nil, replyRules: RADIUSReplyRules = RADIUSReplyRules(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "countersign.radius")
    ) throws {
        self.settings = settings
        let drops = drops ?? DropReport(logger: logger, clock: clock)
        self.drops = drops
        let limit = FailureBucket.Settings(rate: Double(settings.clientFailureRate), burst: Double(settings.clientFailureBurst))
        let now = clock.now()
        // Ids are places in the whole list, whatever the transport: per-client counters and buckets are keyed by them.
        let all = settings.clients.enumerated().map { id, settings in
            var client = RADIUSClient(settings)
            client.id = id
            client.failureLimit = limit.isEnabled ? FailureRateLimit(settings: limit, now: now) : nil
            return client
        }
        // A client is served over its own transport only: a UDP client's secret opens no RadSec connection, and a
        // RadSec client's address sends no datagrams.
        clients = RADIUSClientTable(all.filter { $0.transport == .udp })
        radsec = try settings.tls.map { tls in
            try RadSecListener(settings: tls, clients: all.filter { $0.transport == .tls }, logger: logger)
        }
        loop = RADIUSRequestLoop(
            delimiter: settings.delimiter.first ?? ",", duplicateWindow: .seconds(Int64(settings.duplicateWindowSeconds)),
            authenticator: authenticator, clock: clock, audit: audit, inFlight: inFlight, drops: drops, counters: counters,
            availability: availability, replyRules: replyRules, logger: logger)
        self.group = group
        self.logger = logger
    }

    /// Binds every listen address (once), the RadSec ones too, and returns the bound UDP addresses, one per listen
    /// address, so that callers can use port 0.
    @discardableResult
    public func bind() async throws -> [SocketAddress] {
        var seen = Set<SocketAddress>()
        let bound = try await listeners.bindOnce(
            groups: settings.listen.map { address in { try await self.bindSockets(address) } }, name: "RADIUS", logger: logger
        ).compactMap(\.localAddress).filter { seen.insert($0).inserted }
        _ = try await radsec?.bind(serving: loop, group: group)
        return bound
    }

    /// The bound RadSec addresses, one per `radius.tls.listen` address; empty before `bind` or without `[radius.tls]`.
    public var radsecAddresses: [SocketAddress] {
        radsec?.listeners.all.compactMap(\.localAddress) ?? []
    }

    /// One socket per event loop on `address`. Port 0 gets one socket: Linux may hand a port-0 bind with
    /// SO_REUSEPORT a port that another process of the same user already shares, which would split its traffic.
    private func bindSockets(_ address: ListenAddress) async throws -> [any Channel] {
        guard address.port != 0 else { return [try await bindSocket(address, on: group.next(), reusePort: false)] }
        var channels: [any Channel] = []
        do {
            for loop in group.makeIterator() { channels.append(try await bindSocket(address, on: loop, reusePort: true)) }
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
        return channels
    }

    public func run() async throws {
        try await bind()
        // Answer what is under way (pushes are rejected by then), bounded, then close.
        let inFlight = self.inFlight
        guard let radsec else {
            return try await listeners.serveUntilShutdown { await inFlight.drain(timeout: Self.drainTimeout) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.listeners.serveUntilShutdown { await inFlight.drain(timeout: Self.drainTimeout) } }
            group.addTask {
                try await radsec.listeners.serveUntilShutdown {
                    await inFlight.drain(timeout: Self.drainTimeout)
                    radsec.closeConnections()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Sockets bound, and the event loops they could spread over (for tests).
    var socketCount: Int { listeners.all.count }
    /// RadSec connections open (for tests).
    var radsecConnectionCount: Int { radsec?.connectionCount ?? 0 }
    var eventLoopCount: Int { Array(group.makeIterator()).count }

    /// What the server holds per request, summed over the sockets, for tests: duplicate cache entries, those of them
    /// still being decided, and logins under way. Each socket's cache is read on its own event loop.
    func bookkeeping() async throws -> (cached: Int, inProgress: Int, deciding: Int) {
        var cached = 0
        var inProgress = 0
        for channel in listeners.all {
            let counts = try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: RADIUSRequestHandler.self).cacheCounts
            }.get()
            cached += counts.entries
            inProgress += counts.inProgress
        }
        return (cached, inProgress, inFlight.count)
    }

    private func bindSocket(_ address: ListenAddress, on eventLoop: any EventLoop, reusePort: Bool) async throws -> any Channel {
        let clients = self.clients
        let loop = self.loop
        return try await DatagramBootstrap(group: eventLoop)
            // No SO_REUSEADDR: UDP has no TIME_WAIT to wait out, and on Linux it lets a port-0 bind be handed a port
            // another socket with the option already holds, whose datagrams would then come here.
            .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: reusePort ? 1 : 0)
            // A login peak arrives as a burst: room for thousands of requests, not the default few hundred (the
            // kernel caps this at net.core.rmem_max).
            .channelOption(.socketOption(.so_rcvbuf), value: Self.receiveBufferBytes)
            // RFC 2865 §3: packets are at most 4096 octets; up to 16 of them per system call (recvmmsg).
            .channelOption(.datagramVectorReadMessageCount, value: Self.datagramsPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096 * Self.datagramsPerRead))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(loop.handler(clients: clients, on: channel.eventLoop))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
