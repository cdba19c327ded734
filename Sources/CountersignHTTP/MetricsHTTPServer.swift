import CountersignConfig
import Hummingbird
import Logging
import ServiceLifecycle

/// The metrics listener (`metrics.listen`): `/metrics` in Prometheus's text format, and `/healthz` and `/readyz` as
/// on the HTTP listener, for monitoring that should not reach the device API.
public final class MetricsHTTPServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let bound = BoundPort()

    /// `exposition` renders every metric, at each scrape.
    public init(
        listen: ListenAddress, probe: any NodeProbe, exposition: @escaping @Sendable () -> [UInt8],
        onListening: @escaping @Sendable () -> Void = {}, logger: Logger
    ) {
        let router = Router()
        OperationsRoutes<BasicRequestContext>(probe: probe, statusAllowed: nil).register(on: router)
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: exposition())))
        }
        let bound = self.bound
        application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port)),
            onServerRunning: { channel in
                logger.info("metrics listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                bound.bound(channel.localAddress?.port ?? 0)
                onListening()
            },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }

    /// The bound port, once the server runs.
    public func port() async -> Int {
        await bound.port()
    }
}
