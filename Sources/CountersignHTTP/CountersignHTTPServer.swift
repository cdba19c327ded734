import CountersignConfig
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MFACore
import NIOSSL
import ServiceLifecycle
import WebConsole
import WebUI

/// The HTTP service (`http.listen`): the device API, the auth API, the web authenticator, the admin console, health and
/// status; HTTPS when `http.certificate` and `http.private_key` are set.
public final class CountersignHTTPServer: Service {
    private let application: Application<RouterResponder<CountersignRequestContext>>
    private let bound = BoundPort()

    public init(
        settings: HTTPSettings, store: any GatewayStore, push: PushCoordinator, authenticator: any LoginAuthenticator,
        audit: any AuditSink, clock: any WallClock, drops: DropReport? = nil, probe: any NodeProbe, console: AdminConsole? = nil,
        portal: UserPortal? = nil,
        onListening: @escaping @Sendable () -> Void = {}, logger: Logger
    ) throws {
        let router = Router(context: CountersignRequestContext.self)
        OperationsRoutes<CountersignRequestContext>(probe: probe, statusAllowed: { $0.isFromThisMachine }).register(on: router)
        WebAuthenticatorRoutes().register(on: router)
        console?.register(on: router)
        portal?.register(on: router)
        DeviceAPIRoutes(store: store, push: push, audit: audit, clock: clock, logger: logger).register(on: router)
        AuthAPIRoutes(
            resources: settings.resources, authenticator: authenticator, inFlight: AuthAPIRoutes.InFlight(),
            drops: drops ?? DropReport(logger: logger, clock: clock)
        ).register(on: router)
        let server: HTTPServerBuilder
        if let certificate = settings.certificatePath, let privateKey = settings.privateKeyPath {
            server = try .tls(tlsConfiguration: Self.tlsConfiguration(certificate: certificate, privateKey: privateKey))
        } else {
            server = .http1()
            // A browser gives WebCrypto only to https pages or localhost, and codes would cross the network in clear.
            if !settings.listen.isLoopback {
                logger.warning(
                    "HTTP listens on a network address without TLS: set http.certificate and http.private_key, or put a TLS proxy in front",
                    metadata: ["address": "\(settings.listen)"])
            }
        }
        let bound = self.bound
        application = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(settings.listen.host, port: settings.listen.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "HTTP listening",
                    metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "tls": "\(settings.servesTLS)"])
                bound.bound(port)
                onListening()
            },
            logger: logger)
    }

    /// The certificate chain and key from PEM files; an unreadable file is an error that names its key.
    static func tlsConfiguration(certificate: String, privateKey: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw TLSFileError(key: "http.certificate", path: certificate, reason: "\(error)")
        }
        guard !chain.isEmpty else { throw TLSFileError(key: "http.certificate", path: certificate, reason: "no certificate in it") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw TLSFileError(key: "http.private_key", path: privateKey, reason: "\(error)")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    public func run() async throws {
        try await application.run()
    }

    /// The bound port, once the server runs (port 0 in the configuration picks a free one).
    public func port() async -> Int {
        await bound.port()
    }
}

/// A certificate or key file that cannot be used, named by its configuration key.
public struct TLSFileError: Error, CustomStringConvertible {
    public var key: String
    public var path: String
    public var reason: String
    public var description: String { "\(key): cannot use \(path): \(reason)" }
}

/// The port a server bound, and who waits to learn it.
final class BoundPort: Sendable {
    private let state = Locked<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func bound(_ port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// Waits until the server runs (port 0 in the configuration picks a free one).
    func port() async -> Int {
        await withCheckedContinuation { continuation in
            let known: Int? = state.withLock { state in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
    }
}
