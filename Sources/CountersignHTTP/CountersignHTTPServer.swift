import CountersignConfig
import CountersignStore
import Hummingbird
import Logging
import MFACore
import ServiceLifecycle

/// The HTTP service (`http.listen`): the device API, the auth API and a health check.
public final class CountersignHTTPServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let bound = BoundPort()

    public init(
        settings: HTTPSettings, store: CountersignStore, push: PushCoordinator, authenticator: any LoginAuthenticator,
        audit: any AuditSink, clock: any WallClock, drops: DropReport? = nil, logger: Logger
    ) {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        DeviceAPIRoutes(store: store, push: push, audit: audit, clock: clock, logger: logger).register(on: router)
        AuthAPIRoutes(
            resources: settings.resources, authenticator: authenticator, inFlight: AuthAPIRoutes.InFlight(),
            drops: drops ?? DropReport(logger: logger, clock: clock)
        ).register(on: router)
        let bound = self.bound
        application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(settings.listen.host, port: settings.listen.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("HTTP listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                let waiters = bound.state.withLock { state in
                    state.port = port
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: port) }
            },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }

    /// The bound port, once the server runs (port 0 in the configuration picks a free one).
    public func port() async -> Int {
        await withCheckedContinuation { continuation in
            let known: Int? = bound.state.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
    }
}

/// The port the server bound, and who waits to learn it.
private final class BoundPort: Sendable {
    let state = Locked<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))
}
