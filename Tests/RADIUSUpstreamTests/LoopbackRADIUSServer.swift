import MFACore
import NIOCore
import NIOPosix
import RADIUSCodec

/// A RADIUS server on 127.0.0.1 for the client's tests: each request it receives is recorded and answered with
/// the datagrams `answer` makes of it (none: silence).
final class LoopbackRADIUSServer: Sendable {
    struct Request: Sendable {
        var packet: RADIUSPacket
        var raw: [UInt8]
    }

    let channel: any Channel
    private let received = Locked<[Request]>([])

    var address: SocketAddress { channel.localAddress! }
    var requests: [Request] { received.withLock { $0 } }

    init(answer: @escaping @Sendable (Request) -> [[UInt8]]) async throws {
        let received = self.received
        channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Responder { raw in
                            guard let packet = try? RADIUSPacket(decoding: raw) else { return [] }
                            let request = Request(packet: packet, raw: raw)
                            received.withLock { $0.append(request) }
                            return answer(request)
                        })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func close() async {
        try? await channel.close()
    }

    /// A reply to `request` signed with `secret`, Message-Authenticator first.
    static func reply(
        _ code: RADIUSCode, to request: Request, attributes: [RADIUSAttribute] = [], secret: [UInt8],
        messageAuthenticator: Bool = true
    ) -> [UInt8] {
        RADIUSPacket.encodeReply(
            code: code, identifier: request.packet.identifier, attributes: attributes,
            requestAuthenticator: request.packet.authenticator, secret: secret, messageAuthenticator: messageAuthenticator)
    }

    /// The password in `request`, revealed with `secret`.
    static func password(_ request: Request, secret: [UInt8]) -> String? {
        guard let hidden = request.packet.attribute(.userPassword)?.value,
            let octets = try? RADIUSUserPassword.reveal(hidden, secret: secret, requestAuthenticator: request.packet.authenticator)
        else { return nil }
        return String(decoding: octets, as: UTF8.self)
    }
}

private final class Responder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    let answer: @Sendable ([UInt8]) -> [[UInt8]]

    init(answer: @escaping @Sendable ([UInt8]) -> [[UInt8]]) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        for datagram in answer(Array(envelope.data.readableBytesView)) {
            context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: datagram))), promise: nil)
        }
        context.flush()
    }
}
