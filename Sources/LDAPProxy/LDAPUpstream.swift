import CountersignConfig
import LDAPCodec
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to the real directory (`[ldap.upstream]`): ldap://, ldaps://, or ldap:// upgraded with StartTLS
/// before anything else is sent. Received messages go to `onMessage` on the connection's event loop.
final class LDAPUpstream {
    let channel: any Channel
    private let handler: UpstreamHandler

    private init(channel: any Channel, handler: UpstreamHandler) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects on `eventLoop` (the client connection's, so that both sides share one thread and no lock).
    static func connect(
        _ settings: LDAPUpstreamSettings, tls: NIOSSLContext?, maximumMessageSize: Int, on eventLoop: any EventLoop
    ) -> EventLoopFuture<LDAPUpstream> {
        guard let host = settings.host, let port = settings.port else {
            return eventLoop.makeFailedFuture(LDAPUpstreamError.notConfigured)
        }
        let handler = UpstreamHandler()
        let timeout = TimeAmount.seconds(Int64(settings.timeoutSeconds))
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if settings.usesTLS, let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        LDAPFramingHandler(maximumMessageSize: maximumMessageSize), handler)
                }
            }
            .connect(host: host, port: port)
            .map { LDAPUpstream(channel: $0, handler: handler) }
        guard settings.startTLS else { return connected }
        return connected.flatMap { upstream in
            upstream.startTLS(tls: tls, host: host, timeout: timeout).map { upstream }
        }
    }

    /// RFC 4511 §4.14: ask for TLS, and only on success put the TLS handler in front.
    private func startTLS(tls: NIOSSLContext?, host: String, timeout: TimeAmount) -> EventLoopFuture<Void> {
        guard let tls else { return channel.eventLoop.makeFailedFuture(LDAPUpstreamError.tlsNotConfigured) }
        let answered = channel.eventLoop.makePromise(of: LDAPMessage.self)
        handler.onMessage = { message in
            if let decoded = try? LDAPMessage(decoding: message) { answered.succeed(decoded) }
        }
        handler.onClose = { answered.fail(LDAPUpstreamError.closed) }
        let request = LDAPMessage(messageID: 1, protocolOp: .extendedRequest(name: LDAPOID.startTLS, value: nil), controls: nil)
        send(request.encoded())
        let deadline = channel.eventLoop.scheduleTask(in: timeout) { answered.fail(LDAPUpstreamError.timedOut) }
        let channel = self.channel
        return answered.futureResult.flatMapThrowing { response in
            deadline.cancel()
            guard case .extendedResponse(let result, _, _) = response.protocolOp, result.resultCode == .success else {
                throw LDAPUpstreamError.startTLSRefused
            }
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)), position: .first)
        }
    }

    /// SNI carries names only, never an IP address (RFC 6066 §3).
    private static func sniName(_ host: String) -> String? {
        host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    /// Callbacks run on the event loop; set them before sending.
    var onMessage: ([UInt8]) -> Void {
        get { handler.onMessage }
        set { handler.onMessage = newValue }
    }

    var onClose: () -> Void {
        get { handler.onClose }
        set { handler.onClose = newValue }
    }

    func send(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// Drops the callbacks too: they hold the connection's owner, which holds this connection.
    func close() {
        handler.onMessage = { _ in }
        handler.onClose = {}
        channel.close(promise: nil)
    }
}

enum LDAPUpstreamError: Error, CustomStringConvertible {
    case notConfigured, tlsNotConfigured, startTLSRefused, timedOut, closed

    var description: String {
        switch self {
        case .notConfigured: "ldap.upstream.url is not set"
        case .tlsNotConfigured: "TLS to the directory is not set up"
        case .startTLSRefused: "the directory refused StartTLS"
        case .timedOut: "the directory did not answer in time"
        case .closed: "the directory closed the connection"
        }
    }
}

/// The directory side of the pipeline: hands each message and the close to the connection's owner.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]

    var onMessage: ([UInt8]) -> Void = { _ in }
    var onClose: () -> Void = {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onMessage(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let onClose = self.onClose
        // Nothing arrives any more: let go of the owner the callbacks hold.
        self.onMessage = { _ in }
        self.onClose = {}
        onClose()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension LDAPUpstreamSettings {
    /// The client TLS context for ldaps:// or StartTLS: the configured CA (or the system's), verification on
    /// unless turned off.
    func makeTLSContext() throws -> NIOSSLContext? {
        guard usesTLS || startTLS else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caPath { configuration.trustRoots = .file(caPath) }
        configuration.certificateVerification = verifyCertificate ? .fullVerification : .none
        return try NIOSSLContext(configuration: configuration)
    }
}
