import CountersignConfig
import Logging
import MFACore
import NIOCore
import NIOPosix
import NIOSSL
import ServerSupport

/// RADIUS over TLS (RadSec, RFC 6614) on `radius.tls.listen`, for the clients with `transport = "tls"`. A connection is
/// refused before its handshake when no such client's network holds its source address, and after it when the
/// verified certificate names no client; each connection then runs a request loop of its own, as a UDP socket does.
final class RadSecListener: Sendable {
    let settings: RADIUSTLSSettings
    private let clients: RADIUSClientTable
    private let tls: NIOSSLContext
    private let connections: RadSecConnections
    let listeners = ListenerSet()
    /// Refused connections are logged at most once per interval: a scan must not fill the log.
    private let refusalLog = Occasionally(every: .seconds(10))
    private let logger: Logger

    /// The name drops are reported under: connections are shed before their client is known.
    static let dropName = "radsec"

    init(settings: RADIUSTLSSettings, clients: [RADIUSClient], logger: Logger) throws {
        self.settings = settings
        self.clients = RADIUSClientTable(clients)
        self.logger = logger
        connections = RadSecConnections(maximum: settings.maxConnections, maximumPerAddress: settings.maxConnectionsPerAddress)
        tls = try Self.serverContext(settings)
    }

    /// RFC 6614 §2.3: both sides present certificates; the client's must chain to `client_ca` (no host name to check:
    /// the client is found by its address and, when configured, a name in the certificate).
    private static func serverContext(_ settings: RADIUSTLSSettings) throws -> NIOSSLContext {
        func load<T>(_ key: String, _ path: String?, _ body: (String) throws -> T) throws -> T {
            guard let path else { throw ConfigurationError(code: .missingKey, key: key, message: "required key is missing") }
            do {
                return try body(path)
            } catch {
                throw ConfigurationError(code: .invalidValue, key: key, message: "cannot load \(path): \(error)")
            }
        }
        let chain = try load("radius.tls.certificate", settings.certificatePath) { try NIOSSLCertificate.fromPEMFile($0) }
        let key = try load("radius.tls.private_key", settings.privateKeyPath) { try NIOSSLPrivateKey(file: $0, format: .pem) }
        let roots = try load("radius.tls.client_ca", settings.clientCAPath) { try NIOSSLCertificate.fromPEMFile($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates(roots)
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }

    /// Connections open (for tests).
    var connectionCount: Int { connections.count }

    func bind(serving loop: RADIUSRequestLoop, group: any EventLoopGroup) async throws -> [any Channel] {
        try await listeners.bindOnce(
            settings.listen.map { address in { try await self.bindListener(address, serving: loop, group: group) } }, name: "RadSec",
            logger: logger)
    }

    /// Closes every connection still open (after the logins under way were answered).
    func closeConnections() {
        connections.closeAll()
    }

    private func bindListener(_ address: ListenAddress, serving loop: RADIUSRequestLoop, group: any EventLoopGroup) async throws
        -> any Channel
    {
        let clients = self.clients
        let tls = self.tls
        let connections = self.connections
        let idle = TimeAmount.seconds(Int64(settings.idleTimeoutSeconds))
        let refusalLog = self.refusalLog
        let logger = self.logger
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // RFC 6613 §2.6.4: a connection from an unknown client is closed. Past a cap it is accepted and closed
                // at once, so the backlog never fills with waiting ones.
                guard let remote = channel.remoteAddress, let source = remote.addressBytes, clients.knows(source) else {
                    loop.counters?.requestDropped(.unknownClient)
                    if refusalLog.isDue() {
                        logger.warning(
                            "refused RadSec connection from unknown client", metadata: ["source": "\(channel.remoteAddress?.ipAddress ?? "?")"])
                    }
                    return channel.eventLoop.makeFailedFuture(RadSecConnections.Refused())
                }
                guard connections.opened(channel, from: source) else {
                    loop.counters?.requestDropped(.overloaded)
                    loop.drops.dropped(.overloaded, client: Self.dropName)
                    return channel.eventLoop.makeFailedFuture(RadSecConnections.Refused())
                }
                channel.closeFuture.whenComplete { _ in connections.closed(channel, from: source) }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                    // Also bounds a handshake that never ends.
                    try pipeline.addHandler(IdleStateHandler(allTimeout: idle))
                    try pipeline.addHandler(ByteToMessageHandler(RADIUSFrameDecoder()))
                    try pipeline.addHandler(
                        RadSecConnectionHandler(
                            clients: clients, source: remote, loop: loop, refusalLog: refusalLog, logger: logger))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}

/// RadSec connections open at once, in all and per source address (`radius.tls.max_connections`,
/// `…_per_address`), so that a flood of connections cannot grow memory without bound; and the channels themselves,
/// for closing at shutdown.
final class RadSecConnections: Sendable {
    struct Refused: Error {}

    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [[UInt8]: Int] = [:]
    }

    let maximum: Int
    let maximumPerAddress: Int
    private let state = Locked(State())

    init(maximum: Int, maximumPerAddress: Int) {
        self.maximum = maximum
        self.maximumPerAddress = maximumPerAddress
    }

    var count: Int { state.withLock { $0.open.count } }

    /// False when either cap is reached.
    func opened(_ channel: any Channel, from address: [UInt8]) -> Bool {
        state.withLock { state in
            guard state.open.count < maximum, state.perAddress[address, default: 0] < maximumPerAddress else { return false }
            state.open[ObjectIdentifier(channel)] = channel
            state.perAddress[address, default: 0] += 1
            return true
        }
    }

    func closed(_ channel: any Channel, from address: [UInt8]) {
        state.withLock { state in
            guard state.open.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            let remaining = state.perAddress[address, default: 1] - 1
            state.perAddress[address] = remaining > 0 ? remaining : nil
        }
    }

    func closeAll() {
        for channel in state.withLock({ Array($0.open.values) }) { channel.close(promise: nil) }
    }
}
