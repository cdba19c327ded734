import Logging
import MFACore
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// A RadSec connection between its TLS and its request loop. Once the handshake has verified the client's certificate,
/// it picks the connection's client and adds a `RADIUSRequestHandler` for it behind itself; then it hands each frame
/// on as an envelope from the peer and writes the loop's replies back as bytes. An idle connection, or one whose
/// TLS or framing fails, is closed.
final class RadSecConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = AddressedEnvelope<ByteBuffer>
    typealias OutboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = ByteBuffer

    private let clients: RADIUSClientTable
    private let source: SocketAddress
    private let loop: RADIUSRequestLoop
    private let refusalLog: Occasionally
    private let logger: Logger
    /// The connection's client, once the handshake has named it.
    private var client: RADIUSClient?
    /// The connection's request loop, once there is a client.
    private var requests: RADIUSRequestHandler?

    init(clients: RADIUSClientTable, source: SocketAddress, loop: RADIUSRequestLoop, refusalLog: Occasionally, logger: Logger) {
        self.clients = clients
        self.source = source
        self.loop = loop
        self.refusalLog = refusalLog
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            handshakeCompleted(context: context)
        } else if event is IdleStateHandler.IdleStateEvent {
            // Silence while a login waits (a push) is no idleness: the reply would be lost with the connection.
            if requests?.cacheCounts.inProgress ?? 0 == 0 { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func handshakeCompleted(context: ChannelHandlerContext) {
        let names = (try? context.pipeline.syncOperations.nioSSL_peerCertificate()).flatMap { $0 }.map(Self.names) ?? []
        guard let address = source.addressBytes, let client = clients.client(for: address, certificateNames: names) else {
            loop.counters?.requestDropped(.unknownClient)
            refused("no RadSec client has this address and a name of the certificate", context: context)
            return
        }
        let requests = loop.handler(clients: RADIUSClientTable([]), connectionClient: client, on: context.eventLoop)
        do {
            try context.pipeline.syncOperations.addHandler(requests, position: .after(self))
        } catch {
            context.close(promise: nil)
            return
        }
        self.client = client
        self.requests = requests
        logger.debug("RadSec connection", metadata: ["client": "\(client.name)", "source": "\(source.ipAddress ?? "?")"])
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Application data comes only after the handshake, so the client is known; without one, nothing is read.
        guard client != nil else { return }
        context.fireChannelRead(wrapInboundOut(AddressedEnvelope(remoteAddress: source, data: unwrapInboundIn(data))))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(unwrapOutboundIn(data).data), promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case is RADIUSFrameDecoder.LengthOutOfRange:
            // RFC 6613 §2.6.4: a Length outside 20...4096 closes the connection.
            loop.counters?.requestDropped(.malformed)
            if let client { loop.drops.dropped(.malformed, client: client.name) }
            context.close(promise: nil)
        default:
            // A refused certificate, a handshake cut short, a reset: the connection ends; the others go on.
            refused("\(error)", context: context)
        }
    }

    private func refused(_ reason: String, context: ChannelHandlerContext) {
        if client == nil, refusalLog.isDue() {
            logger.warning("refused RadSec connection", metadata: ["source": "\(source.ipAddress ?? "?")", "reason": "\(reason)"])
        }
        context.close(promise: nil)
    }

    /// The names a certificate goes by, lowercased: its subject's common names and its DNS subjectAltNames.
    static func names(of certificate: NIOSSLCertificate) -> Set<String> {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return [] }
        var names = Set<String>()
        for attribute in parsed.subject.flatMap({ $0 }) where attribute.type == .RDNAttributeType.commonName {
            if let name = String(attribute.value) { names.insert(name.lowercased()) }
        }
        for case .dnsName(let name) in (try? parsed.extensions.subjectAlternativeNames) ?? SubjectAlternativeNames() {
            names.insert(name.lowercased())
        }
        return names
    }
}
