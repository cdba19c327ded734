import Testing

@testable import LDAPCodec

@Suite("LDAPMessage")
struct LDAPMessageTests {
    @Test("vectors.md simple bind decodes and re-encodes byte-identically")
    func simpleBind() throws {
        let message = try LDAPMessage(decoding: Vectors.simpleBind)
        #expect(message.messageID == 1)
        #expect(message.controls == nil)
        guard case .bindRequest(let bind) = message.protocolOp else {
            Issue.record("not a bind request: \(message.protocolOp)")
            return
        }
        #expect(bind.version == 3)
        #expect(bind.name == "cn=admin")
        #expect(bind.authentication == .simple(password: Array("secret".utf8)))
        #expect(message.encoded() == Vectors.simpleBind)
    }

    @Test("vectors.md BindResponse success and invalidCredentials encode exactly")
    func bindResponses() throws {
        let success = LDAPMessage(messageID: 1, protocolOp: .bindResponse(LDAPResult(resultCode: .success), serverSaslCreds: nil))
        #expect(success.encoded() == Vectors.bindSuccess)
        let invalid = LDAPMessage(
            messageID: 1,
            protocolOp: .bindResponse(LDAPResult(resultCode: .invalidCredentials), serverSaslCreds: nil)
        )
        #expect(invalid.encoded() == Vectors.bindInvalidCredentials)
        #expect(try LDAPMessage(decoding: Vectors.bindInvalidCredentials) == invalid)
        #expect(try LDAPMessage(decoding: Vectors.bindSuccess) == success)
    }

    @Test("BindResponse with serverSaslCreds, referral and a diagnostic round-trips")
    func bindResponseFull() throws {
        // referral [3] SEQUENCE OF URI: a3 0e 04 0c ldap://b.com
        let referral = hex("a30e 040c 6c6461703a2f2f622e636f6d")
        let message = LDAPMessage(
            messageID: 7,
            protocolOp: .bindResponse(
                LDAPResult(resultCode: .saslBindInProgress, matchedDN: "dc=x", diagnosticMessage: "más", referral: referral),
                serverSaslCreds: [0x01, 0x02]
            )
        )
        let bytes = message.encoded()
        #expect(try LDAPMessage(decoding: bytes) == message)
        #expect(bytes.suffix(4) == [0x87, 0x02, 0x01, 0x02])
    }

    @Test("Unbind in its envelope decodes and re-encodes")
    func unbind() throws {
        let message = try LDAPMessage(decoding: Vectors.unbind)
        #expect(message == LDAPMessage(messageID: 2, protocolOp: .unbindRequest))
        #expect(message.encoded() == Vectors.unbind)
    }

    @Test("StartTLS extended request round-trips")
    func startTLS() throws {
        let message = try LDAPMessage(decoding: Vectors.startTLS)
        #expect(message == LDAPMessage(messageID: 1, protocolOp: .extendedRequest(name: LDAPOID.startTLS, value: nil)))
        #expect(message.encoded() == Vectors.startTLS)

        let withValue = LDAPMessage(messageID: 9, protocolOp: .extendedRequest(name: "1.2.3", value: [0xAA]))
        #expect(try LDAPMessage(decoding: withValue.encoded()) == withValue)
    }

    @Test("noticeOfDisconnection: messageID 0, ExtendedResponse, responseName is the OID")
    func noticeOfDisconnection() throws {
        let notice = LDAPMessage.noticeOfDisconnection(.protocolError, message: "bye")
        #expect(notice.messageID == 0)
        #expect(notice.encoded() == Vectors.noticeOfDisconnection)
        let decoded = try LDAPMessage(decoding: Vectors.noticeOfDisconnection)
        guard case .extendedResponse(let result, let name, let value) = decoded.protocolOp else {
            Issue.record("not an extended response")
            return
        }
        #expect(result.resultCode == .protocolError)
        #expect(result.diagnosticMessage == "bye")
        #expect(name == LDAPOID.noticeOfDisconnection)
        #expect(value == nil)

        let withValue = LDAPMessage(
            messageID: 4,
            protocolOp: .extendedResponse(LDAPResult(resultCode: .success), name: nil, value: [1, 2, 3])
        )
        #expect(try LDAPMessage(decoding: withValue.encoded()) == withValue)
    }

    @Test("SASL binds decode as .sasl, with and without credentials")
    func saslBind() throws {
        let external = try LDAPMessage(decoding: Vectors.saslExternal)
        #expect(external.messageID == 2)
        #expect(external.protocolOp == .bindRequest(LDAPBindRequest(name: "", authentication: .sasl(mechanism: "EXTERNAL", credentials: nil))))
        #expect(external.encoded() == Vectors.saslExternal)

        let plain = try LDAPMessage(decoding: Vectors.saslPlain)
        #expect(plain.protocolOp == .bindRequest(LDAPBindRequest(
            name: "", authentication: .sasl(mechanism: "PLAIN", credentials: Array("\0jdoe\0pw!".utf8))
        )))
        #expect(plain.encoded() == Vectors.saslPlain)
    }

    @Test("an unknown op decodes as .other and re-encodes verbatim, controls kept")
    func otherOpWithControls() throws {
        let message = try LDAPMessage(decoding: Vectors.searchWithControls)
        #expect(message.messageID == 3)
        guard case .other(let tag, let bytes) = message.protocolOp else {
            Issue.record("not .other")
            return
        }
        #expect(tag == 3)
        #expect(bytes.prefix(3) == [0x63, 0x81, 0x31])  // the non-minimal length survives
        #expect(bytes.count == 3 + 0x31)
        #expect(message.controls?.first == 0xA0)
        #expect(message.controls?.count == 2 + 0x23)
        #expect(message.encoded() == Vectors.searchWithControls)
    }

    @Test("a non-minimal outer length is accepted (BER) and re-encoded minimally")
    func nonMinimalOuterLength() throws {
        let message = try LDAPMessage(decoding: hex("3081 05 020102 4200"))
        #expect(message.encoded() == Vectors.unbind)
    }

    @Test("large messageIDs and long values use long-form lengths")
    func longForms() throws {
        let password = [UInt8](repeating: 0x61, count: 300)
        let message = LDAPMessage(
            messageID: Int32.max,
            protocolOp: .bindRequest(LDAPBindRequest(name: "cn=x", authentication: .simple(password: password)))
        )
        let bytes = message.encoded()
        #expect(bytes.prefix(9) == [0x30, 0x82, 0x01, 0x43, 0x02, 0x04, 0x7F, 0xFF, 0xFF])
        #expect(try LDAPMessage(decoding: bytes) == message)

        let small = LDAPMessage(messageID: 128, protocolOp: .unbindRequest)
        #expect(small.encoded() == hex("3006 02020080 4200"))
        #expect(try LDAPMessage(decoding: small.encoded()) == small)
    }

    @Test("every truncated prefix of every valid message throws", arguments: Vectors.valid.map(\.0))
    func truncatedPrefixes(name: String) throws {
        let bytes = try #require(Vectors.valid.first { $0.0 == name }?.1)
        #expect(throws: Never.self) { try LDAPMessage(decoding: bytes) }
        for length in 0..<bytes.count {
            #expect(throws: LDAPDecodingError.self, "prefix \(length) of \(name)") {
                try LDAPMessage(decoding: Array(bytes.prefix(length)))
            }
        }
    }

    @Test("every single-octet corruption of every valid message is decoded or refused, never a crash")
    func corruptions() throws {
        for (_, bytes) in Vectors.valid {
            for index in bytes.indices {
                for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0x81, 0x84, 0xFF, bytes[index] ^ 0x20] {
                    var corrupted = bytes
                    corrupted[index] = value
                    if let message = try? LDAPMessage(decoding: corrupted) {
                        // Whatever decodes must re-encode to something that decodes to the same message.
                        #expect(try LDAPMessage(decoding: message.encoded()) == message)
                    }
                }
            }
        }
    }

    @Test("trailing bytes after the message are refused")
    func trailingBytes() {
        #expect(throws: LDAPDecodingError(code: .malformedBER, message: "")) {
            try LDAPMessage(decoding: Vectors.unbind + [0x00])
        }
        #expect(throws: LDAPDecodingError(code: .malformedBER, message: "")) {
            try LDAPMessage(decoding: Vectors.unbind + Vectors.unbind)
        }
    }

    @Test("wrong tags and constraint violations throw the right codes")
    func strictness() {
        let cases: [(String, String, LDAPDecodingError.Code)] = [
            // outer SET instead of SEQUENCE
            ("not a SEQUENCE", "3105 020102 4200", .unexpectedTag),
            // messageID as ENUMERATED
            ("messageID tag", "3005 0a0102 4200", .unexpectedTag),
            // messageID -1
            ("negative messageID", "3005 0201ff 4200", .invalidValue),
            // messageID 2^31 does not fit INTEGER (0 .. maxInt)
            ("messageID above maxInt", "3009 02050080000000 4200", .malformedBER),
            // messageID 00 02: not minimal (X.690 §8.3.2)
            ("non-minimal INTEGER", "3006 02020002 4200", .malformedBER),
            // protocolOp with a context tag
            ("context-tagged op", "3005 020102 8200", .unexpectedTag),
            // protocolOp missing
            ("no protocolOp", "3003 020102", .unexpectedTag),
            // Unbind NULL with content
            ("unbind with content", "3006 020102 420100", .invalidValue),
            // Unbind constructed
            ("constructed unbind", "3005 020102 6200", .unexpectedTag),
            // version 0 and 128
            ("version 0", "3010 020101 600b 020100 0404 636e3d78 8000", .invalidValue),
            ("version 128", "3011 020101 600c 02020080 0404 636e3d78 8000", .invalidValue),
            // name as a constructed OCTET STRING (RFC 4511 §5.1: primitive only)
            ("constructed name", "3010 020101 600b 020103 2404 0402636e 8000", .unexpectedTag),
            // name not UTF-8
            ("invalid UTF-8 name", "300e 020101 6009 020103 0402c328 8000", .invalidUTF8),
            // simple [0] constructed
            ("constructed simple", "300e 020101 6009 020103 0400 a0020400", .unexpectedTag),
            // authentication missing
            ("no authentication", "300a 020101 6005 020103 0400", .unexpectedTag),
            // an extra element after authentication
            ("extra in bind", "300e 020101 6009 020103 0400 8000 0500", .unexpectedTag),
            // Kerberos-era choice [1] (reserved): answered with authMethodNotSupported
            ("auth choice [1]", "300c 020101 6007 020103 0400 8100", .unsupportedAuthentication),
            // BindResponse missing diagnosticMessage
            ("short LDAPResult", "300a 020101 6105 0a0100 0400", .unexpectedTag),
            // resultCode as INTEGER instead of ENUMERATED
            ("resultCode tag", "300c 020101 6107 020100 0400 0400", .unexpectedTag),
            // ExtendedRequest without requestName
            ("no requestName", "3005 020101 7700", .unexpectedTag),
            // controls primitive
            ("primitive controls", "3007 020102 4200 8000", .unexpectedTag),
            // something after the controls
            ("after controls", "3009 020102 4200 a000 0500", .unexpectedTag),
            // inner indefinite length: BindRequest 60 80 ... 00 00
            ("inner indefinite", "300e 020101 6080 020103 0400 8000 0000", .indefiniteLength),
            // outer indefinite length
            ("outer indefinite", "3080 020102 4200 0000", .indefiniteLength),
        ]
        for (name, bytes, code) in cases {
            #expect(throws: LDAPDecodingError(code: code, message: ""), "\(name)") {
                try LDAPMessage(decoding: hex(bytes))
            }
        }
    }

    @Test("errors after the messageID carry it, so the bind can be answered")
    func errorCarriesMessageID() {
        do {
            _ = try LDAPMessage(decoding: hex("300c 020109 6007 020103 0400 8100"))
            Issue.record("decoded")
        } catch {
            #expect(error.code == .unsupportedAuthentication)
            #expect(error.messageID == 9)
        }
        do {
            _ = try LDAPMessage(decoding: hex("3005 0a0102 4200"))
            Issue.record("decoded")
        } catch {
            #expect(error.messageID == nil)
        }
    }

    @Test("nesting beyond swift-asn1's depth limit (50) is refused, not a stack overflow")
    func deepNesting() throws {
        var inner: [UInt8] = [0x05, 0x00]
        for _ in 0..<60 {
            inner = tlv(0x30, inner)
        }
        let message = tlv(0x30, hex("020101 4200") + tlv(0xA0, inner))
        #expect(throws: LDAPDecodingError(code: .malformedBER, message: "")) {
            try LDAPMessage(decoding: message)
        }

        // 40 levels is within the limit: the controls are kept as received.
        var shallow: [UInt8] = [0x05, 0x00]
        for _ in 0..<40 {
            shallow = tlv(0x30, shallow)
        }
        let ok = tlv(0x30, hex("020101 4200") + tlv(0xA0, shallow))
        #expect(try LDAPMessage(decoding: ok).controls == tlv(0xA0, shallow))
    }

    @Test("LDAPDecodingError is equal by code")
    func errorEquality() {
        let a = LDAPDecodingError(code: .invalidValue, message: "a", messageID: 1)
        let b = LDAPDecodingError(code: .invalidValue, message: "b")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != LDAPDecodingError(code: .malformedBER, message: "a"))
        #expect(a.description.contains("invalidValue"))
    }

    @Test("LDAPResultCode names")
    func resultCodes() {
        #expect(LDAPResultCode.invalidCredentials.rawValue == 49)
        #expect(LDAPResultCode(rawValue: 53) == .unwillingToPerform)
        #expect(LDAPResultCode.unwillingToPerform.description == "unwillingToPerform(53)")
        #expect(LDAPResultCode(4711).description == "4711")
    }
}

@Suite("LDAPMessage robustness")
struct LDAPMessageRobustnessTests {
    /// A fixed-seed generator so failures reproduce.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("random multi-octet mutations, insertions and high tag numbers never crash the decoder or the splitter")
    func randomMutations() throws {
        var rng = SplitMix64(state: 0x4C44_4150)
        let seeds = Vectors.valid.map(\.1) + [hex("3007 020101 7f8100 00"), hex("3008 020101 5f1f01 00")]
        for _ in 0..<20_000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                default: if bytes.count > 1 { bytes.remove(at: index) }
                }
            }
            if let message = try? LDAPMessage(decoding: bytes) {
                #expect(try LDAPMessage(decoding: message.encoded()) == message, "\(hexString(bytes))")
            }
            var splitter = LDAPFrameSplitter(maximumMessageSize: 64)
            _ = try? splitter.append(bytes)
        }
    }
}

@Suite struct LDAPFilterTests {
    @Test func theFiltersAConfigurationNamesParse() throws {
        #expect(try LDAPFilter(parsing: "(member=cn=a\\2cb)") == .equality(attribute: "member", value: Array("cn=a,b".utf8)))
        #expect(
            try LDAPFilter(parsing: "(&(objectClass=groupOfNames)(|(member=x)(!(cn=y))))")
                == .and([
                    .equality(attribute: "objectClass", value: Array("groupOfNames".utf8)),
                    .or([.equality(attribute: "member", value: Array("x".utf8)), .not(.equality(attribute: "cn", value: Array("y".utf8)))]),
                ]))
        #expect(try LDAPFilter(parsing: "(objectClass=*)") == .present(attribute: "objectClass"))
        for bad in ["member=x", "(member=x", "(&)", "(cn=a*b)", "(=x)", "(cn=x))", "(cn=\\zz)"] {
            #expect(throws: LDAPFilter.ParseError.self, "\(bad)") { try LDAPFilter(parsing: bad) }
        }
    }

    @Test func anEscapedValueIsOnlyAValue() throws {
        let hostile = "*)(uid=*))(|(uid=\\"
        let escaped = LDAPFilter.escape(hostile)
        #expect(try LDAPFilter(parsing: "(member=\(escaped))") == .equality(attribute: "member", value: Array(hostile.utf8)))
    }

    @Test func aSearchRequestWithAttributesEncodesAsRFC4511Says() {
        let message = LDAPMessage.search(
            messageID: 7, base: "dc=x", scope: .baseObject, filter: .present(attribute: "objectClass"), sizeLimit: 1, attributes: ["memberOf"])
        // 30 LL 02 01 07 63 LL 04 04 "dc=x" 0a 01 00 0a 01 00 02 01 01 02 01 00 01 01 00 87 0b "objectClass" 30 0a 04 08 "memberOf"
        let expected: [UInt8] =
            [0x30, 0x33, 0x02, 0x01, 0x07, 0x63, 0x2E, 0x04, 0x04] + Array("dc=x".utf8)
            + [0x0A, 0x01, 0x00, 0x0A, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0B] + Array("objectClass".utf8)
            + [0x30, 0x0A, 0x04, 0x08] + Array("memberOf".utf8)
        #expect(message.encoded() == expected)
    }
}
