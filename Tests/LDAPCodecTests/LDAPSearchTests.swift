import Testing

@testable import LDAPCodec

@Suite("LDAP search helpers")
struct LDAPSearchTests {
    // 30 46 02 01 05                          messageID 5
    //   63 41                                 SearchRequest [APPLICATION 3]
    //     04 11 dc=example,dc=com             baseObject
    //     0a 01 02                            scope wholeSubtree
    //     0a 01 00                            derefAliases neverDerefAliases
    //     02 01 02                            sizeLimit 2
    //     02 01 00                            timeLimit 0
    //     01 01 00                            typesOnly FALSE
    //     a3 16                               equalityMatch [3]
    //       04 0e sAMAccountName              attributeDesc
    //       04 04 jdoe                        assertionValue
    //     30 05 04 03 1.1                     attributes: none
    static let searchRequest = hex(
        """
        3046 020105 6341
        0411 64633d6578616d706c652c64633d636f6d 0a0102 0a0100 020102 020100 010100
        a316 040e 73414d4163636f756e744e616d65 0404 6a646f65
        3005 0403 312e31
        """
    )

    @Test("searchForEntry encodes the expected SearchRequest and decodes back as .other")
    func searchForEntry() throws {
        let message = LDAPMessage.searchForEntry(messageID: 5, base: "dc=example,dc=com", attribute: "sAMAccountName", value: "jdoe")
        let bytes = message.encoded()
        #expect(hexString(bytes) == hexString(Self.searchRequest))
        #expect(bytes.prefix(6) == [0x30, 0x46, 0x02, 0x01, 0x05, 0x63])
        let decoded = try LDAPMessage(decoding: bytes)
        #expect(decoded == message)
        guard case .other(tag: 3, let op) = decoded.protocolOp else {
            Issue.record("not .other(tag: 3)")
            return
        }
        #expect(op.first == 0x63)
        #expect(decoded.encoded() == bytes)
    }

    @Test("the filter value is put raw, with no RFC 4515 escaping; timeLimit is encoded")
    func rawValue() throws {
        let message = LDAPMessage.searchForEntry(messageID: 1, base: "", attribute: "cn", value: "a*(b)\\", timeLimit: 300)
        let bytes = message.encoded()
        #expect(hexString(bytes).contains("0406" + hexString(Array("a*(b)\\".utf8))))
        #expect(hexString(bytes).contains("0202012c"))
        #expect(try LDAPMessage(decoding: bytes) == message)
    }

    @Test("SearchResultEntry objectName comes out via the helper")
    func resultEntry() throws {
        // 30 23 02 01 05 64 1e 04 1a uid=jdoe,dc=example,dc=com 30 00
        let bare = hex("3023 020105 641e 041a 7569643d6a646f652c64633d6578616d706c652c64633d636f6d 3000")
        let message = try LDAPMessage(decoding: bare)
        #expect(LDAPMessage.searchResultEntryDN(message.protocolOp) == "uid=jdoe,dc=example,dc=com")
        #expect(LDAPMessage.searchResultDone(message.protocolOp) == nil)

        // With a PartialAttributeList: 30 0c 30 0a 04 02 cn 31 04 04 02 jd
        let withAttributes = hex(
            "302f 020105 642a 041a 7569643d6a646f652c64633d6578616d706c652c64633d636f6d 300c 300a 0402636e 3104 04026a64"
        )
        let second = try LDAPMessage(decoding: withAttributes)
        #expect(LDAPMessage.searchResultEntryDN(second.protocolOp) == "uid=jdoe,dc=example,dc=com")
    }

    @Test("SearchResultDone's LDAPResult comes out via the helper")
    func resultDone() throws {
        let success = try LDAPMessage(decoding: hex("300c 020105 6507 0a0100 0400 0400"))
        #expect(LDAPMessage.searchResultDone(success.protocolOp) == LDAPResult(resultCode: .success))
        #expect(LDAPMessage.searchResultEntryDN(success.protocolOp) == nil)

        // sizeLimitExceeded (4) with a diagnostic
        let exceeded = try LDAPMessage(decoding: hex("300f 020105 650a 0a0104 0400 0403 747761"))
        #expect(LDAPMessage.searchResultDone(exceeded.protocolOp)
            == LDAPResult(resultCode: .sizeLimitExceeded, diagnosticMessage: "twa"))
    }

    @Test("the helpers return nil for other ops and malformed bytes")
    func helpersRefuse() {
        #expect(LDAPMessage.searchResultEntryDN(.unbindRequest) == nil)
        #expect(LDAPMessage.searchResultDone(.bindResponse(LDAPResult(resultCode: .success), serverSaslCreds: nil)) == nil)
        #expect(LDAPMessage.searchResultEntryDN(.other(tag: 4, bytes: hex("6403 0401"))) == nil)  // truncated
        #expect(LDAPMessage.searchResultEntryDN(.other(tag: 4, bytes: hex("6402 0400"))) == nil)  // no attributes
        #expect(LDAPMessage.searchResultEntryDN(.other(tag: 4, bytes: hex("6406 0400 3000 0500"))) == nil)  // extra
        #expect(LDAPMessage.searchResultEntryDN(.other(tag: 4, bytes: hex("6504 0400 3000"))) == nil)  // wrong tag inside
        #expect(LDAPMessage.searchResultDone(.other(tag: 5, bytes: hex("6505 0a0100 0400"))) == nil)  // short
        #expect(LDAPMessage.searchResultDone(.other(tag: 5, bytes: [])) == nil)
    }
}
