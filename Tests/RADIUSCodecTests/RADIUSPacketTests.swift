import Testing

@testable import RADIUSCodec

@Suite("RADIUSPacket")
struct RADIUSPacketTests {
    /// Access-Request with a Vendor-Specific (Vendor-Id 9, Cisco AV-Pair "shell:priv-lvl=15").
    // 01 07 0038 00..0f                 header, Length 56
    // 01 05 626f62                      User-Name "bob"
    // 1a 19 00000009 01 13 7368656c6c3a707269762d6c766c3d3135   Vendor-Specific, sub 1 "shell:priv-lvl=15"
    // 04 06 c0a80001                    NAS-IP-Address 192.168.0.1
    static let vsaPacket = hex("""
        01070038 000102030405060708090a0b0c0d0e0f
        0105626f62
        1a1900000009 0113 7368656c6c3a707269762d6c766c3d3135
        0406c0a80001
        """)

    @Test func decodesTheRFC5997Request() throws {
        let packet = try RADIUSPacket(decoding: RFC5997.request)
        #expect(packet.code == .statusServer)
        #expect(packet.identifier == 0xda)
        #expect(packet.authenticator == hex("8a54f4686fb394c52866e302185d0623"))
        #expect(packet.attributes.count == 1)
        #expect(packet.attribute(.messageAuthenticator)?.value == hex("5a665e2e1e8411f3e243822097c84fa3"))
        #expect(packet.encoded() == RFC5997.request)
    }

    @Test func decodesAttributesInOrder() throws {
        let packet = try RADIUSPacket(decoding: Self.vsaPacket)
        #expect(packet.code == .accessRequest)
        #expect(packet.attributes.map(\.type) == [.userName, .vendorSpecific, .nasIPAddress])
        #expect(packet.attribute(.userName)?.stringValue == "bob")
        #expect(packet.attribute(.nasIPAddress)?.integerValue == 0xc0a8_0001)
        #expect(packet.attribute(.replyMessage) == nil)
        #expect(packet.encoded() == Self.vsaPacket)
    }

    @Test func attributesOfATypeKeepOrder() throws {
        let packet = RADIUSPacket(
            code: .accessAccept, identifier: 1, authenticator: [UInt8](repeating: 7, count: 16),
            attributes: [
                RADIUSAttribute(type: .proxyState, value: [1]),
                RADIUSAttribute(type: .replyMessage, string: "hi"),
                RADIUSAttribute(type: .proxyState, value: [2]),
            ]
        )
        #expect(packet.attributes(.proxyState).map(\.value) == [[1], [2]])
        #expect(packet.attribute(.proxyState)?.value == [1])
        #expect(try RADIUSPacket(decoding: packet.encoded()) == packet)
    }

    @Test func decodesFromNonArrayCollections() throws {
        let sliced = try RADIUSPacket(decoding: ([0xff] + RFC5997.request)[1...])
        let lazy = try RADIUSPacket(decoding: RFC5997.request.lazy.map { $0 })
        let reference = try RADIUSPacket(decoding: RFC5997.request)
        #expect(sliced == reference)
        #expect(lazy == reference)
    }

    @Test func octetsBeyondLengthArePadding() throws {
        let padded = RFC5997.request + [0x01, 0x02, 0x03, 0x00]
        let packet = try RADIUSPacket(decoding: padded)
        #expect(packet == (try RADIUSPacket(decoding: RFC5997.request)))
        #expect(packet.encoded() == RFC5997.request)
    }

    @Test func everyTruncatedPrefixThrows() throws {
        var packets = [RFC5997.request, Self.vsaPacket]
        packets += try Corpus.load().filter(\.wellFormed).map(\.bytes).filter { (try? RADIUSPacket(decoding: $0)) != nil }
        #expect(packets.count > 40)
        for packet in packets {
            for length in 0..<packet.count {
                #expect(throws: RADIUSDecodingError.self) {
                    try RADIUSPacket(decoding: packet[0..<length])
                }
            }
        }
    }

    @Test func truncatedPrefixesReportTheRightCode() {
        for length in 0..<20 {
            #expect(throws: RADIUSDecodingError(code: .truncatedHeader, message: "")) {
                try RADIUSPacket(decoding: RFC5997.request[0..<length])
            }
        }
        for length in 20..<RFC5997.request.count {
            #expect(throws: RADIUSDecodingError(code: .truncatedPacket, message: "")) {
                try RADIUSPacket(decoding: RFC5997.request[0..<length])
            }
        }
    }

    @Test(arguments: [0, 1, 19, 4097, 0xffff])
    func lengthOutsideTheRFCRangeThrows(length: Int) {
        var bytes = [UInt8](repeating: 0, count: max(20, min(length, 5000)))
        bytes[0] = 1
        bytes[2] = UInt8(length >> 8)
        bytes[3] = UInt8(length & 0xff)
        #expect(throws: RADIUSDecodingError(code: .lengthOutOfRange, message: "")) {
            try RADIUSPacket(decoding: bytes)
        }
    }

    @Test func maximumLengthPacketDecodes() throws {
        var attributes: [RADIUSAttribute] = []
        var length = 20
        while length + 255 <= 4096 {
            attributes.append(RADIUSAttribute(type: .class, value: [UInt8](repeating: 0x41, count: 253)))
            length += 255
        }
        attributes.append(RADIUSAttribute(type: .state, value: [UInt8](repeating: 0x42, count: 4096 - length - 2)))
        let packet = RADIUSPacket(code: .accessAccept, identifier: 9, authenticator: [UInt8](repeating: 0, count: 16), attributes: attributes)
        let bytes = packet.encoded()
        #expect(bytes.count == 4096)
        #expect(try RADIUSPacket(decoding: bytes) == packet)
    }

    @Test(arguments: [0, 1] as [UInt8])
    func attributeLengthBelowTwoThrows(attributeLength: UInt8) {
        // Length 24: User-Name with the given length octet, then two octets that must not be read as progress.
        let bytes = hex("01000018 000102030405060708090a0b0c0d0e0f") + [0x01, attributeLength, 0x41, 0x41]
        #expect(throws: RADIUSDecodingError(code: .attributeTooShort, message: "")) {
            try RADIUSPacket(decoding: bytes)
        }
    }

    @Test func attributeOverrunningLengthThrows() {
        // Length 25 but User-Name claims 6 octets from offset 20 → needs 26.
        let bytes = hex("01000019 000102030405060708090a0b0c0d0e0f 0106626f6221") // 26 octets of data, Length 25
        #expect(throws: RADIUSDecodingError(code: .attributeOverrun, message: "")) {
            try RADIUSPacket(decoding: bytes)
        }
        // A lone trailing octet cannot hold an attribute header.
        let lone = hex("01000015 000102030405060708090a0b0c0d0e0f 01")
        #expect(throws: RADIUSDecodingError(code: .attributeOverrun, message: "")) {
            try RADIUSPacket(decoding: lone)
        }
    }

    @Test func errorsAreEqualByCode() {
        let a = RADIUSDecodingError(code: .truncatedPacket, message: "one", offset: 3)
        let b = RADIUSDecodingError(code: .truncatedPacket, message: "two")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != RADIUSDecodingError(code: .attributeOverrun, message: "one", offset: 3))
        #expect(a.description.contains("truncatedPacket"))
    }
}
