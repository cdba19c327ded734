import CountersignConfig
import Logging
import MFACore
import NIOCore
import NIOPosix
import NIOSSL
import ServerSupport
import ServiceLifecycle

/// The LDAP bind proxy: plain LDAP with StartTLS on `ldap.listen`, LDAP over TLS on `ldap.ldaps_listen`.
public final class LDAPProxyServer: Service {
    private let settings: LDAPSettings
    private let handlerConfiguration: LDAPProxyHandler.Configuration
    private let serverTLS: NIOSSLContext?
    private let authenticator: any LoginAuthenticator
    private let audit: any AuditSink
    private let clock: any WallClock
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners = ListenerSet()
    /// Intercepted binds under way, which a graceful shutdown answers before closing the listeners.
    private let inFlight = InFlightRequests()
    /// Failed binds per client address (`ldap.client_failure_rate`, `ldap.client_failure_burst`); nil: off.
    private let failureLimits: LDAPClientFailureLimits?
    private let connections: LDAPConnectionCount
    /// Connections shed (`ldap.max_connections`), also logged.
    public let drops: DropReport
    /// How long a graceful shutdown waits for binds under way before closing the listeners.
    public static let drainTimeout: Duration = .seconds(8)

    /// `clock` times the events the proxy records itself and the addresses' failure buckets; `drops` hears of every
    /// connection shed (its own when nil).
    public init(
        settings: LDAPSettings, delimiter: Character, authenticator: any LoginAuthenticator, audit: any AuditSink,
        clock: any WallClock = SystemWallClock(), drops: DropReport? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "countersign.ldap")
    ) throws {
        self.settings = settings
        self.authenticator = authenticator
        self.audit = audit
        self.clock = clock
        self.group = group
        self.logger = logger
        self.drops = drops ?? DropReport(logger: logger, clock: clock)
        failureLimits = LDAPClientFailureLimits(
            settings: FailureBucket.Settings(rate: Double(settings.clientFailureRate), burst: Double(settings.clientFailureBurst)))
        connections = LDAPConnectionCount(maximum: settings.maxConnections)
        if let certificate = settings.certificatePath, let key = settings.privateKeyPath {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            serverTLS = try NIOSSLContext(configuration: configuration)
        } else {
            serverTLS = nil
        }
        handlerConfiguration = LDAPProxyHandler.Configuration(
            upstream: settings.upstream, upstreamTLS: try settings.upstream.makeTLSContext(), serverTLS: serverTLS,
            policy: LDAPBindPolicy(settings: settings, delimiter: delimiter), maximumMessageSize: settings.maximumMessageSize,
            resource: Resource(kind: .ldap, name: settings.upstream.host ?? "directory"))
    }

    /// Binds the listeners (once); the bound addresses, plain first, so that tests can use port 0.
    @discardableResult
    public func bind() async throws -> (plain: SocketAddress?, tls: SocketAddress?) {
        var binders: [@Sendable () async throws -> any Channel] = []
        if let listen = settings.listen { binders.append { try await self.bindListener(listen, tls: false) } }
        if let listen = settings.ldapsListen { binders.append { try await self.bindListener(listen, tls: true) } }
        var bound = try await listeners.bindOnce(binders, name: "LDAP", logger: logger)[...]
        let plain = settings.listen != nil ? bound.popFirst()?.localAddress : nil
        let tls = settings.ldapsListen != nil ? bound.popFirst()?.localAddress : nil
        return (plain, tls)
    }

    public func run() async throws {
        try await bind()
        // New binds are refused from here; those under way are answered (pushes are rejected by then), bounded.
        let inFlight = self.inFlight
        try await listeners.serveUntilShutdown { await inFlight.drain(timeout: Self.drainTimeout) }
    }

    /// Binds under way and client connections open (for tests).
    var bookkeeping: (binds: Int, connections: Int, failureBuckets: Int) {
        (inFlight.count, connections.count, failureLimits?.count ?? 0)
    }

    private func bindListener(_ address: ListenAddress, tls: Bool) async throws -> any Channel {
        let configuration = handlerConfiguration
        let serverTLS = tls ? self.serverTLS : nil
        let authenticator = self.authenticator
        let audit = self.audit
        let clock = self.clock
        let failureLimits = self.failureLimits
        let inFlight = self.inFlight
        let connections = self.connections
        let drops = self.drops
        let logger = self.logger
        let idle = TimeAmount.seconds(Int64(settings.idleTimeoutSeconds))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Past the cap the connection is accepted and closed at once: the backlog never fills with waiting ones.
                guard connections.opened() else {
                    drops.dropped(.overloaded, client: configuration.resource.description)
                    return channel.eventLoop.makeFailedFuture(LDAPConnectionCount.Exceeded())
                }
                channel.closeFuture.whenComplete { _ in connections.closed() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let serverTLS { try pipeline.addHandler(NIOSSLServerHandler(context: serverTLS)) }
                    try pipeline.addHandlers(
                        IdleStateHandler(allTimeout: idle),
                        LDAPFramingHandler(maximumMessageSize: configuration.maximumMessageSize),
                        LDAPProxyHandler(
                            configuration: configuration, clientAddress: channel.remoteAddress?.ipAddress ?? "",
                            tlsActive: serverTLS != nil, authenticator: authenticator, audit: audit, failureLimits: failureLimits,
                            inFlight: inFlight, drops: drops, clock: clock, executor: EventLoopTaskExecutor(channel.eventLoop),
                            logger: logger))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

/// Client connections open at once, across the listeners (`ldap.max_connections`).
final class LDAPConnectionCount: Sendable {
    struct Exceeded: Error {}

    let maximum: Int
    private let open = Locked(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    var count: Int { open.withLock { $0 } }

    /// False when `maximum` are open already.
    func opened() -> Bool {
        open.withLock { open in
            guard open < maximum else { return false }
            open += 1
            return true
        }
    }

    func closed() {
        open.withLock { $0 -= 1 }
    }
}
