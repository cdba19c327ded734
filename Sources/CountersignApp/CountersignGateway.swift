import CountersignConfig
import CountersignStore
import Logging
import MFACore
import RADIUSServer
import ServiceLifecycle

/// The running gateway, built from a configuration: the store, the MFA core and the RADIUS service.
/// `countersign serve` and the integration tests build it the same way.
public final class CountersignGateway: Sendable {
    public let configuration: CountersignConfiguration
    public let store: CountersignStore
    public let authenticator: MFAAuthenticator
    public let radius: RADIUSServer
    private let logger: Logger

    public init(
        configuration: CountersignConfiguration, clock: any WallClock = SystemWallClock(),
        hasher: PasswordHasher = PasswordHasher(), logger: Logger = Logger(label: "countersign")
    ) throws {
        self.configuration = configuration
        self.logger = logger
        store = try CountersignStore.open(path: configuration.store.path, keyPath: configuration.store.keyPath)
        authenticator = MFAAuthenticator(
            store: store, audit: AuditRecorder(store: store, logger: logger), hasher: hasher,
            policy: MFAAuthenticator.Policy(
                allowUnenrolled: configuration.mfa.unenrolled == .allow, driftSteps: configuration.totp.driftSteps),
            clock: clock, logger: logger)
        radius = RADIUSServer(settings: configuration.radius, authenticator: authenticator, logger: logger)
    }

    /// Binds every listener; nothing is served until `run`. Fails as a whole if one address cannot be bound.
    @discardableResult
    public func bind() async throws -> [SocketAddressDescription] {
        try await radius.bind().map { SocketAddressDescription(host: $0.ipAddress ?? "?", port: $0.port ?? 0) }
    }

    /// Serves until SIGTERM or SIGINT (tests: until the task is cancelled), then shuts down gracefully.
    public func run(handlingSignals: Bool = true) async throws {
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: radius)], gracefulShutdownSignals: handlingSignals ? [.sigterm, .sigint] : [],
                logger: logger))
        try await group.run()
    }
}

public struct SocketAddressDescription: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
