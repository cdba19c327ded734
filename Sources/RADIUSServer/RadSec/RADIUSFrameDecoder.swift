import NIOCore
import RADIUSCodec

/// Cuts whole RADIUS packets out of a RadSec stream by their Length field (RFC 6613 §2.2: RADIUS over a stream is
/// the packets back to back, nothing between them). A Length outside 20...4096 (RFC 2865 §3) leaves no way to find
/// the next packet: it is an error, and the connection is closed (RFC 6613 §2.6.4).
struct RADIUSFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    struct LengthOutOfRange: Error, Equatable {
        var length: Int
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A packet cut short by the peer's close is dropped with the connection.
        try decode(context: context, buffer: &buffer)
    }

    /// The next whole packet, nil while its bytes have not all arrived. The Length field is checked as soon as its
    /// two octets are in, so at most 4096 octets are ever held for a packet.
    static func nextFrame(_ buffer: inout ByteBuffer) throws(LengthOutOfRange) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self).map(Int.init) else { return nil }
        guard length >= RADIUSPacket.minimumLength, length <= RADIUSPacket.maximumLength else { throw LengthOutOfRange(length: length) }
        return buffer.readSlice(length: length)
    }
}
