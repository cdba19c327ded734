import CountersignConfig
import Logging
import MFACore
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The RADIUS authentication service: one UDP socket per address in `radius.listen`.
public final class RADIUSServer: Service {
    private let settings: RADIUSSettings
    private let authenticator: any LoginAuthenticator
    private let group: any EventLoopGroup
    private let logger: Logger
    private let channels = Mutex<[any Channel]?>(nil)
    private let inFlight = InFlightRequests()
    /// How long a graceful shutdown waits for logins under way before closing the sockets.
    public static let drainTimeout: Duration = .seconds(8)

    public init(
        settings: RADIUSSettings, authenticator: any LoginAuthenticator,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "countersign.radius")
    ) {
        self.settings = settings
        self.authenticator = authenticator
        self.group = group
        self.logger = logger
    }

    /// Binds every listen address (once) and returns the bound addresses, so that callers can use port 0.
    @discardableResult
    public func bind() async throws -> [SocketAddress] {
        if let bound = channels.withLock({ $0 }) { return bound.compactMap(\.localAddress) }
        var bound: [any Channel] = []
        do {
            for address in settings.listen {
                bound.append(try await bindSocket(address))
            }
        } catch {
            for channel in bound { try? await channel.close() }
            throw error
        }
        channels.withLock { $0 = bound }
        for channel in bound {
            logger.info("RADIUS listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        }
        return bound.compactMap(\.localAddress)
    }

    public func run() async throws {
        try await bind()
        let open = channels.withLock { $0 ?? [] }
        try await withTaskCancellationOrGracefulShutdownHandler {
            for channel in open { try await channel.closeFuture.get() }
        } onCancelOrGracefulShutdown: {
            // Answer what is under way (pushes are rejected by then), bounded, then close.
            let inFlight = self.inFlight
            Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await inFlight.drain() }
                    group.addTask { try? await Task.sleep(for: Self.drainTimeout) }
                    await group.next()
                    group.cancelAll()
                }
                for channel in open { channel.close(promise: nil) }
            }
        }
    }

    private func bindSocket(_ address: ListenAddress) async throws -> any Channel {
        let clients = RADIUSClientTable(settings.clients.map(RADIUSClient.init))
        let delimiter = settings.delimiter.first ?? ","
        let window = TimeAmount.seconds(Int64(settings.duplicateWindowSeconds))
        let authenticator = self.authenticator
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
                            duplicateWindow: window, inFlight: inFlight, logger: logger))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
