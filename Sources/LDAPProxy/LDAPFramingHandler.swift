import LDAPCodec
import NIOCore

/// Cuts whole LDAPMessages out of the TCP stream (size cap checked before buffering, RFC 4511 §5.1) and passes
/// each one on as bytes. A malformed or oversized stream is an error for the next handler to act on.
final class LDAPFramingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = [UInt8]

    private var splitter: LDAPFrameSplitter
    private var failed = false

    init(maximumMessageSize: Int) {
        splitter = LDAPFrameSplitter(maximumMessageSize: maximumMessageSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        do {
            for frame in try splitter.append(buffer.readableBytesView) {
                context.fireChannelRead(wrapInboundOut(frame))
            }
        } catch {
            failed = true
            context.fireErrorCaught(error)
        }
    }
}
