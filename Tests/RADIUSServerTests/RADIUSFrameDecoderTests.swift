import NIOCore
import NIOEmbedded
import NIOTestUtils
import RADIUSCodec
import Testing

@testable import RADIUSServer

/// RadSec framing: whole packets cut from a stream by their Length field.
@Suite struct RADIUSFrameDecoderTests {
    /// A packet of `length` octets: Code 1, Identifier, Length, a zero authenticator, then filler (the framing reads
    /// the header alone; the step checks the attributes).
    static func packet(length: Int, identifier: UInt8 = 7) -> [UInt8] {
        [1, identifier, UInt8(length >> 8), UInt8(length & 0xff)] + [UInt8](repeating: 0, count: 16)
            + [UInt8](repeating: 0xab, count: length - 20)
    }

    @Test func packetsOfEveryBoundarySizeComeOutWholeHoweverTheStreamIsCut() throws {
        // 20 and 22 octets, and one of 277; the verifier feeds them whole, byte by byte and in random cuts.
        let packets = [Self.packet(length: 20), Self.packet(length: 22, identifier: 8), Self.packet(length: 277, identifier: 9)]
        let pairs = packets.map { (ByteBuffer(bytes: $0), [ByteBuffer(bytes: $0)]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { RADIUSFrameDecoder() }
    }

    @Test func theLargestPacketIsOneFrame() throws {
        var buffer = ByteBuffer(bytes: Self.packet(length: 4096) + Self.packet(length: 20))
        #expect(try RADIUSFrameDecoder.nextFrame(&buffer)?.readableBytes == 4096)
        #expect(try RADIUSFrameDecoder.nextFrame(&buffer)?.readableBytes == 20)
        #expect(try RADIUSFrameDecoder.nextFrame(&buffer) == nil)
    }

    @Test func aPartialHeaderOrBodyWaitsForMore() throws {
        for prefix in 0..<30 {
            var buffer = ByteBuffer(bytes: Self.packet(length: 30).prefix(prefix))
            #expect(try RADIUSFrameDecoder.nextFrame(&buffer) == nil, "prefix \(prefix)")
            #expect(buffer.readableBytes == prefix)
        }
    }

    @Test(arguments: [0, 19, 4097, 65535])
    func aLengthOutsideTheRFCRangeIsAnErrorAsSoonAsItIsRead(length: Int) {
        // Only the first four octets: the error does not wait for the body.
        var buffer = ByteBuffer(bytes: [1, 7, UInt8(length >> 8), UInt8(length & 0xff)])
        #expect(throws: RADIUSFrameDecoder.LengthOutOfRange(length: length)) { try RADIUSFrameDecoder.nextFrame(&buffer) }
    }

    @Test func aBadLengthInAChannelIsAnErrorAfterTheGoodFramesBeforeIt() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RADIUSFrameDecoder()))
        var bytes = Self.packet(length: 20)
        bytes += [1, 8, 0, 5, 0, 0]
        #expect(throws: RADIUSFrameDecoder.LengthOutOfRange(length: 5)) { try channel.writeInbound(ByteBuffer(bytes: bytes)) }
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.packet(length: 20)))
    }
}
