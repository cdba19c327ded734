import Testing

@testable import RADIUSCodec

@Suite("RADIUSAuthenticators")
struct RADIUSAuthenticatorsTests {
    static let secret = Array("s3cret".utf8)
    static let requestAuthenticator = hex("0f0e0d0c0b0a09080706050403020100")

    // MARK: RFC 5997 §6.1

    @Test func rfc5997RequestMessageAuthenticatorIsValid() throws {
        _ = try RADIUSPacket(decoding: RFC5997.request)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: RFC5997.request, secret: RFC5997.secret) == .valid)
    }

    @Test func rfc5997RequestWithAnotherSecretIsInvalid() {
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: RFC5997.request, secret: Array("xyzzy5462".utf8)) == .invalid)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: RFC5997.request, secret: []) == .invalid)
    }

    @Test(arguments: 0..<38)
    func rfc5997RequestWithAFlippedOctetIsNotValid(index: Int) {
        var bytes = RFC5997.request
        bytes[index] ^= 0x01
        // Flipping Length or the MA's own header breaks framing or the attribute; either way not valid.
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: bytes, secret: RFC5997.secret) != .valid)
    }

    @Test func rfc5997RequestIsReproducedByEncodeRequest() {
        let bytes = RADIUSPacket.encodeRequest(
            code: .statusServer, identifier: 0xda, authenticator: RFC5997.requestAuthenticator,
            attributes: [], secret: RFC5997.secret
        )
        #expect(bytes == RFC5997.request)
    }

    @Test func rfc5997ResponseIsReproducedByEncodeReply() throws {
        let request = try RADIUSPacket(decoding: RFC5997.request)
        let reply = RADIUSPacket.encodeReply(
            code: .accessAccept, identifier: 0xda, attributes: [],
            requestAuthenticator: request.authenticator, secret: RFC5997.secret, messageAuthenticator: false
        )
        #expect(reply == RFC5997.response)
        #expect(RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: RFC5997.response, requestAuthenticator: request.authenticator, secret: RFC5997.secret
        ))
        #expect(!RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: RFC5997.response, requestAuthenticator: request.authenticator, secret: Array("other".utf8)
        ))
        #expect(!RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: RFC5997.response, requestAuthenticator: [UInt8](repeating: 0, count: 16), secret: RFC5997.secret
        ))
        #expect(RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: RFC5997.response, requestAuthenticator: request.authenticator, secret: RFC5997.secret
        ) == .absent)
    }

    // MARK: encodeReply

    @Test func encodeReplyPutsAValidMessageAuthenticatorFirst() throws {
        let attributes = [
            RADIUSAttribute(type: .proxyState, value: [0xaa]),
            RADIUSAttribute(type: .replyMessage, string: "Welcome"),
            RADIUSAttribute(type: .proxyState, value: [0xbb, 0xcc]),
        ]
        let bytes = RADIUSPacket.encodeReply(
            code: .accessChallenge, identifier: 42, attributes: attributes,
            requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        )
        let reply = try RADIUSPacket(decoding: bytes)
        #expect(reply.code == .accessChallenge)
        #expect(reply.identifier == 42)
        #expect(reply.attributes.count == 4)
        #expect(reply.attributes[0].type == .messageAuthenticator)
        #expect(reply.attributes[0].value.count == 16)
        #expect(Array(reply.attributes.dropFirst()) == attributes)
        #expect(reply.attributes(.proxyState).map(\.value) == [[0xaa], [0xbb, 0xcc]])
        #expect(RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: bytes, requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        ) == .valid)
        #expect(RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: bytes, requestAuthenticator: [UInt8](repeating: 1, count: 16), secret: Self.secret
        ) == .invalid)
        #expect(RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: bytes, requestAuthenticator: Self.requestAuthenticator, secret: Array("x".utf8)
        ) == .invalid)
        #expect(RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: bytes, requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        ))
    }

    @Test func tamperedReplyFailsBothChecks() {
        var bytes = RADIUSPacket.encodeReply(
            code: .accessAccept, identifier: 1, attributes: [RADIUSAttribute(type: .sessionTimeout, integer: 60)],
            requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        )
        bytes[bytes.count - 1] ^= 0x80
        #expect(!RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: bytes, requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        ))
        #expect(RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: bytes, requestAuthenticator: Self.requestAuthenticator, secret: Self.secret
        ) == .invalid)
    }

    // MARK: encodeRequest

    @Test func encodeRequestRoundTrips() throws {
        let attributes = [
            RADIUSAttribute(type: .userName, string: "alice"),
            RADIUSAttribute(type: .userPassword, value: RADIUSUserPassword.hide(
                Array("pw".utf8), secret: Self.secret, requestAuthenticator: Self.requestAuthenticator
            )),
            RADIUSAttribute(type: .nasIdentifier, string: "nas-1"),
        ]
        let bytes = RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: 200, authenticator: Self.requestAuthenticator,
            attributes: attributes, secret: Self.secret
        )
        let packet = try RADIUSPacket(decoding: bytes)
        let messageAuthenticator = try #require(packet.attribute(.messageAuthenticator))
        #expect(packet == RADIUSPacket(
            code: .accessRequest, identifier: 200, authenticator: Self.requestAuthenticator,
            attributes: [messageAuthenticator] + attributes
        ))
        #expect(packet.encoded() == bytes)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: bytes, secret: Self.secret) == .valid)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: bytes + [0, 0, 0], secret: Self.secret) == .valid)

        let plain = RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: 200, authenticator: Self.requestAuthenticator,
            attributes: attributes, secret: Self.secret, messageAuthenticator: false
        )
        #expect(try RADIUSPacket(decoding: plain).attributes == attributes)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: plain, secret: Self.secret) == .absent)
    }

    // MARK: encodeAccountingRequest

    @Test func accountingRequestAuthenticatorVerifies() throws {
        let attributes = [
            RADIUSAttribute(type: .acctStatusType, integer: 1),
            RADIUSAttribute(type: .acctSessionId, string: "0001"),
        ]
        let bytes = RADIUSPacket.encodeAccountingRequest(
            code: .accountingRequest, identifier: 5, attributes: attributes, secret: Self.secret
        )
        #expect(try RADIUSPacket(decoding: bytes).attributes == attributes)
        #expect(RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: bytes, secret: Self.secret))
        #expect(!RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: bytes, secret: Array("x".utf8)))
        // The FreeRADIUS port-1700 CoA vector (CC-BY 4.0, Network RADIUS SARL), secret "testing123".
        let coa = hex("2ba600197fbf02c6662b5990838a5e6e331b3ff00105626f62")
        #expect(RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: coa, secret: Corpus.secret))
        let rebuilt = RADIUSPacket.encodeAccountingRequest(
            code: .coaRequest, identifier: 0xa6, attributes: [RADIUSAttribute(type: .userName, string: "bob")],
            secret: Corpus.secret
        )
        #expect(rebuilt == coa)
    }

    // MARK: Message-Authenticator edge cases

    /// A Status-Server with the given attributes, raw, so malformed MAs can be built.
    static func statusServer(_ attributes: [RADIUSAttribute]) -> [UInt8] {
        RADIUSPacket(code: .statusServer, identifier: 1, authenticator: requestAuthenticator, attributes: attributes).encoded()
    }

    @Test func absentMessageAuthenticator() {
        let bytes = Self.statusServer([RADIUSAttribute(type: .nasIdentifier, string: "x")])
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: bytes, secret: Self.secret) == .absent)
    }

    @Test func duplicateMessageAuthenticatorIsInvalid() throws {
        // Sign a request, then append a second copy of its (valid) MA.
        let signed = RADIUSPacket.encodeRequest(
            code: .statusServer, identifier: 1, authenticator: Self.requestAuthenticator, attributes: [], secret: Self.secret
        )
        var packet = try RADIUSPacket(decoding: signed)
        packet.attributes.append(packet.attributes[0])
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: packet.encoded(), secret: Self.secret) == .invalid)
    }

    @Test(arguments: [0, 15, 17])
    func messageAuthenticatorOfWrongLengthIsInvalid(length: Int) {
        let bytes = Self.statusServer([RADIUSAttribute(type: .messageAuthenticator, value: [UInt8](repeating: 0, count: length))])
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: bytes, secret: Self.secret) == .invalid)
    }

    @Test func malformedPacketsNeverVerify() {
        let broken = hex("01000016 000102030405060708090a0b0c0d0e0f 0100")
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: broken, secret: Self.secret) == .invalid)
        #expect(RADIUSAuthenticators.checkMessageAuthenticator(raw: [], secret: Self.secret) == .invalid)
        #expect(!RADIUSAuthenticators.verifyResponseAuthenticator(
            raw: RFC5997.response.prefix(19), requestAuthenticator: RFC5997.requestAuthenticator, secret: RFC5997.secret
        ))
        #expect(!RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: [UInt8](), secret: Self.secret))
    }

    @Test func constantTimeEquals() {
        #expect(RADIUSAuthenticators.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(RADIUSAuthenticators.constantTimeEquals([UInt8](), [UInt8]()))
        #expect(!RADIUSAuthenticators.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!RADIUSAuthenticators.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(RADIUSAuthenticators.constantTimeEquals([9, 1, 2][1...], [1, 2]))
    }
}
