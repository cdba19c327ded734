import Testing

@testable import RADIUSCodec

/// Real packets from the FreeRADIUS server test vectors, Copyright (C) 2019 Network RADIUS SARL,
/// CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0); see `Corpus`.
@Suite("RADIUSPacket corpus")
struct RADIUSPacketCorpusTests {
    @Test func everyLineIsDecodedOrRefused() throws {
        let packets = try Corpus.load()
        #expect(packets.count == 56)
        var decoded = 0
        for packet in packets {
            do {
                let decodedPacket = try RADIUSPacket(decoding: packet.bytes)
                decoded += 1
                // Well-formed input re-encodes to the very same octets.
                #expect(decodedPacket.encoded() == packet.bytes, "\(packet)")
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        // 46 parse; the 4 malformed lines and 6 with broken attributes are refused.
        #expect(decoded == 46)
    }

    @Test func malformedLinesThrow() throws {
        let malformed = try Corpus.load().filter { !$0.wellFormed }
        #expect(malformed.count == 4)
        for packet in malformed {
            #expect(throws: RADIUSDecodingError.self, "\(packet)") {
                try RADIUSPacket(decoding: packet.bytes)
            }
        }
    }

    @Test func corpusMessageAuthenticatorsVerify() throws {
        let packets = try Corpus.load()
        // Access-Requests from the Wireshark capture and RFC 4675 vectors, signed with "testing123".
        let requests = packets.filter { $0.bytes.first == RADIUSCode.accessRequest.rawValue }
        let valid = requests.filter {
            RADIUSAuthenticators.checkMessageAuthenticator(raw: $0.bytes, secret: Corpus.secret) == .valid
        }
        #expect(valid.count >= 8)
        // RFC 5176 Disconnect-Request: MA over the packet with a zero authenticator; Request Authenticator as accounting.
        let disconnect = try #require(packets.first { $0.bytes.first == RADIUSCode.disconnectRequest.rawValue })
        #expect(RADIUSAuthenticators.checkAccountingRequestMessageAuthenticator(raw: disconnect.bytes, secret: Corpus.secret) == .valid)
        #expect(RADIUSAuthenticators.checkAccountingRequestMessageAuthenticator(raw: disconnect.bytes, secret: Array("nope".utf8)) == .invalid)
        #expect(RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: disconnect.bytes, secret: Corpus.secret))
        #expect(!RADIUSAuthenticators.verifyAccountingRequestAuthenticator(raw: disconnect.bytes, secret: Array("nope".utf8)))
    }
}
