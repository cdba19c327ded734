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
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners = ListenerSet()

    public init(
        settings: LDAPSettings, delimiter: Character, authenticator: any LoginAuthenticator, audit: any AuditSink,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "countersign.ldap")
    ) throws {
        self.settings = settings
        self.authenticator = authenticator
        self.audit = audit
        self.group = group
        self.logger = logger
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
            resourceName: settings.upstream.host ?? "directory")
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
        try await listeners.serveUntilShutdown()
    }

    private func bindListener(_ address: ListenAddress, tls: Bool) async throws -> any Channel {
        let configuration = handlerConfiguration
        let serverTLS = tls ? self.serverTLS : nil
        let authenticator = self.authenticator
        let audit = self.audit
        let logger = self.logger
        let idle = TimeAmount.seconds(Int64(settings.idleTimeoutSeconds))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let serverTLS { try pipeline.addHandler(NIOSSLServerHandler(context: serverTLS)) }
                    try pipeline.addHandlers(
                        IdleStateHandler(allTimeout: idle),
                        LDAPFramingHandler(maximumMessageSize: configuration.maximumMessageSize),
                        LDAPProxyHandler(
                            configuration: configuration, authenticator: authenticator, audit: audit, tlsActive: serverTLS != nil,
                            logger: logger))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }
}
