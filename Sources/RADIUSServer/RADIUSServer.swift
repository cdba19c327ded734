import CountersignConfig
import Logging
import MFACore
import NIOCore
import NIOPosix
import ServerSupport
import ServiceLifecycle

/// The RADIUS authentication service: one UDP socket per address in `radius.listen`.
public final class RADIUSServer: Service {
    private let settings: RADIUSSettings
    private let clients: RADIUSClientTable
    private let authenticator: any LoginAuthenticator
    private let clock: any WallClock
    private let audit: (any AuditSink)?
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners = ListenerSet()
    private let inFlight = InFlightRequests()
    /// How long a graceful shutdown waits for logins under way before closing the sockets.
    public static let drainTimeout: Duration = .seconds(8)

    /// `clock` times the clients' failure buckets; `audit` gets `client_rate_limited`.
    public init(
        settings: RADIUSSettings, authenticator: any LoginAuthenticator, clock: any WallClock = SystemWallClock(),
        audit: (any AuditSink)? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "countersign.radius")
    ) {
        self.settings = settings
        let limit = FailureBucket.Settings(rate: Double(settings.clientFailureRate), burst: Double(settings.clientFailureBurst))
        let now = clock.now()
        clients = RADIUSClientTable(
            settings.clients.map { settings in
                var client = RADIUSClient(settings)
                client.failureLimit = limit.isEnabled ? FailureRateLimit(settings: limit, now: now) : nil
                return client
            })
        self.authenticator = authenticator
        self.clock = clock
        self.audit = audit
        self.group = group
        self.logger = logger
    }

    /// Binds every listen address (once) and returns the bound addresses, so that callers can use port 0.
    @discardableResult
    public func bind() async throws -> [SocketAddress] {
        try await listeners.bindOnce(
            settings.listen.map { address in { try await self.bindSocket(address) } }, name: "RADIUS", logger: logger
        ).compactMap(\.localAddress)
    }

    public func run() async throws {
        try await bind()
        // Answer what is under way (pushes are rejected by then), bounded, then close.
        let inFlight = self.inFlight
        try await listeners.serveUntilShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await inFlight.drain() }
                group.addTask { try? await Task.sleep(for: Self.drainTimeout) }
                await group.next()
                group.cancelAll()
            }
        }
    }

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

    private func bindSocket(_ address: ListenAddress) async throws -> any Channel {
        let clients = self.clients
        let delimiter = settings.delimiter.first ?? ","
        let window = TimeAmount.seconds(Int64(settings.duplicateWindowSeconds))
        let authenticator = self.authenticator
        let clock = self.clock
        let audit = self.audit
        let logger = self.logger
        let inFlight = self.inFlight
        return try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // RFC 2865 §3: packets are at most 4096 octets.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RADIUSRequestHandler(
                            clients: clients, authenticator: authenticator, delimiter: delimiter,
                            duplicateWindow: window, inFlight: inFlight, clock: clock, audit: audit, logger: logger))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
