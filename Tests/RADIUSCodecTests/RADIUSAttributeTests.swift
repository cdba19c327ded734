import Testing

@testable import RADIUSCodec

@Suite("RADIUSAttribute, RADIUSAttributeType, RADIUSCode")
struct RADIUSAttributeTests {
    @Test func stringValue() {
        #expect(RADIUSAttribute(type: .userName, string: "jürgen").value == Array("jürgen".utf8))
        #expect(RADIUSAttribute(type: .userName, string: "jürgen").stringValue == "jürgen")
        #expect(RADIUSAttribute(type: .userName, value: [0xff, 0xfe]).stringValue == nil)
        #expect(RADIUSAttribute(type: .userName, value: []).stringValue == "")
    }

    @Test func integerValue() {
        #expect(RADIUSAttribute(type: .sessionTimeout, value: [0, 0, 0x0e, 0x10]).integerValue == 3600)
        #expect(RADIUSAttribute(type: .sessionTimeout, integer: 0xdead_beef).value == [0xde, 0xad, 0xbe, 0xef])
        #expect(RADIUSAttribute(type: .sessionTimeout, value: [0, 1, 2]).integerValue == nil)
        #expect(RADIUSAttribute(type: .sessionTimeout, value: [0, 1, 2, 3, 4]).integerValue == nil)
    }

    @Test func dictionaryValues() {
        #expect(RADIUSAttributeType.messageAuthenticator.rawValue == 80)
        #expect(RADIUSAttributeType.nasIPv6Address.rawValue == 95)
        #expect(RADIUSAttributeType.class.rawValue == 25)
        #expect(RADIUSAttributeType.eapMessage.description == "EAP-Message")
        #expect(RADIUSAttributeType(rawValue: 250).description == "Attribute-250")
        #expect(RADIUSCode.statusServer.rawValue == 12)
        #expect(RADIUSCode.coaNAK.rawValue == 45)
        #expect(RADIUSCode.accessRequest.description == "Access-Request")
        #expect(RADIUSCode(rawValue: 99).description == "Code-99")
    }
}
