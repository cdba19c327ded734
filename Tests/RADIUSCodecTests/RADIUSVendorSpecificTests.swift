import Testing

@testable import RADIUSCodec

@Suite("RADIUSVendorSpecific")
struct RADIUSVendorSpecificTests {
    @Test func decodesAndEncodesBack() throws {
        // Vendor-Id 9 (Cisco), sub 1 "a=b", sub 2 empty.
        let attribute = RADIUSAttribute(type: .vendorSpecific, value: hex("00000009 0105613d62 0202"))
        let vsa = try RADIUSVendorSpecific(decoding: attribute)
        #expect(vsa.vendorID == 9)
        #expect(vsa.subAttributes == [
            .init(type: 1, value: Array("a=b".utf8)),
            .init(type: 2, value: []),
        ])
        #expect(vsa.attribute == attribute)
    }

    @Test func roundTripsThroughAPacket() throws {
        let vsa = RADIUSVendorSpecific(vendorID: 14122, subAttributes: [.init(type: 1, value: [1, 2, 3, 4])])
        let packet = RADIUSPacket(code: .accessAccept, identifier: 3, authenticator: [UInt8](repeating: 0, count: 16), attributes: [vsa.attribute])
        let decoded = try RADIUSPacket(decoding: packet.encoded())
        #expect(try RADIUSVendorSpecific(decoding: try #require(decoded.attribute(.vendorSpecific))) == vsa)
    }

    @Test func decodesTheVSAFromAPacket() throws {
        let packet = try RADIUSPacket(decoding: RADIUSPacketTests.vsaPacket)
        let vsa = try RADIUSVendorSpecific(decoding: try #require(packet.attribute(.vendorSpecific)))
        #expect(vsa.vendorID == 9)
        #expect(vsa.subAttributes.count == 1)
        #expect(String(decoding: vsa.subAttributes[0].value, as: UTF8.self) == "shell:priv-lvl=15")
    }

    @Test func emptyVendorValueHasNoSubAttributes() throws {
        let vsa = try RADIUSVendorSpecific(decoding: RADIUSAttribute(type: .vendorSpecific, value: hex("00000009")))
        #expect(vsa.subAttributes.isEmpty)
    }

    @Test(arguments: [
        "",                   // no Vendor-Id
        "000000",             // short Vendor-Id
        "00000009 0100",      // sub-attribute length 0: must not loop forever
        "00000009 0101",      // sub-attribute length 1
        "00000009 01",        // truncated sub-attribute header
        "00000009 0105 6162", // sub-attribute overruns
        "00000009 0202 0300", // second sub-attribute length 0
    ])
    func malformedValuesThrow(value: String) {
        #expect(throws: RADIUSDecodingError(code: .invalidVendorSpecific, message: "")) {
            try RADIUSVendorSpecific(decoding: RADIUSAttribute(type: .vendorSpecific, value: hex(value)))
        }
    }

    @Test func otherAttributeTypesThrow() {
        #expect(throws: RADIUSDecodingError(code: .invalidVendorSpecific, message: "")) {
            try RADIUSVendorSpecific(decoding: RADIUSAttribute(type: .userName, value: hex("00000009 0103 41")))
        }
    }
}
