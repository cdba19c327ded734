import Crypto
import Foundation
import RADIUSCodec
import Testing

@testable import MFACore
@testable import RADIUSServer

/// Malformed and hostile datagrams over the gateway's real UDP socket. Each one gets the answer RFC 2865 §3 /
/// RFC 3579 / RFC 5997 call for (most often none at all), and then the same socket still gets a Status-Server
/// answered, and the server's per-request bookkeeping (duplicate cache, logins under way, challenges) holds only
/// what a correct answer needed. Process memory (RSS) is left to the benchmark.
@Suite struct MalformedRADIUSTests {
    static let secret = Array(TestGateway.secret.utf8)
    /// The user every signed case logs in as: password "pw", no second factor, and the gateway lets unenrolled users
    /// in, so that a request that reaches the decision is visible as Access-Accept.
    static let user = "alice"
    static let password = "pw"

    enum Expected: Sendable, CustomStringConvertible {
        /// RFC 2865 §3 / RFC 3579 §3.2: silently discarded.
        case silence
        /// This reply code, and when given this Reply-Message.
        case reply(RADIUSCode, replyMessage: String?)

        var description: String {
            switch self {
            case .silence: "no reply"
            case .reply(let code, let message): "\(code)" + (message.map { " \"\($0)\"" } ?? "")
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let expected: Expected
        /// The datagram for Identifier 42 with this Request Authenticator.
        let build: @Sendable (_ authenticator: [UInt8]) -> [UInt8]

        init(_ name: String, _ expected: Expected, _ build: @escaping @Sendable (_ authenticator: [UInt8]) -> [UInt8]) {
            self.name = name
            self.expected = expected
            self.build = build
        }

        var testDescription: String { "\(name) → \(expected)" }
    }

    static let identifier: UInt8 = 42
    static let accept = Expected.reply(.accessAccept, replyMessage: nil)
    static let malformed = Expected.reply(.accessReject, replyMessage: "Malformed request")
    static let wrongPassword = Expected.reply(.accessReject, replyMessage: "Wrong username or password")

    // MARK: Building requests

    static func userName(_ name: String = user) -> RADIUSAttribute { RADIUSAttribute(type: .userName, string: name) }

    static func userPassword(_ password: String = password, _ authenticator: [UInt8]) -> RADIUSAttribute {
        RADIUSAttribute(
            type: .userPassword,
            value: RADIUSUserPassword.hide(Array(password.utf8), secret: secret, requestAuthenticator: authenticator))
    }

    /// Correctly signed (Message-Authenticator first, RFC 3579 §3.2), with any attributes.
    static func signed(_ code: RADIUSCode, _ authenticator: [UInt8], _ attributes: [RADIUSAttribute]) -> [UInt8] {
        RADIUSPacket.encodeRequest(code: code, identifier: identifier, authenticator: authenticator, attributes: attributes, secret: secret)
    }

    static func signed(_ authenticator: [UInt8], _ attributes: [RADIUSAttribute]) -> [UInt8] {
        signed(.accessRequest, authenticator, attributes)
    }

    /// A valid, signed Access-Request for the test user, with `extra` attributes after the credentials.
    static func login(_ authenticator: [UInt8], password: String = password, extra: [RADIUSAttribute] = []) -> [UInt8] {
        signed(authenticator, [userName(), userPassword(password, authenticator)] + extra)
    }

    /// Without Message-Authenticator; attributes exactly as given (so any Message-Authenticator among them is kept).
    static func unsigned(_ code: RADIUSCode, _ authenticator: [UInt8], _ attributes: [RADIUSAttribute]) -> [UInt8] {
        RADIUSPacket.encodeRequest(
            code: code, identifier: identifier, authenticator: authenticator, attributes: attributes, secret: secret,
            messageAuthenticator: false)
    }

    static func unsigned(_ authenticator: [UInt8], _ attributes: [RADIUSAttribute]) -> [UInt8] {
        unsigned(.accessRequest, authenticator, attributes)
    }

    /// Computes the Message-Authenticator whose value starts at `valueOffset` over the first Length octets, as a
    /// client would (RFC 3579 §3.2: HMAC-MD5 with that value zeroed), whatever else is wrong with the packet.
    static func sign(_ bytes: [UInt8], valueOffset: Int, valueCount: Int = 16) -> [UInt8] {
        var out = bytes
        let length = min(out.count, Int(out[2]) << 8 | Int(out[3]))
        out.replaceSubrange(valueOffset..<(valueOffset + valueCount), with: [UInt8](repeating: 0, count: valueCount))
        let mac = Array(HMAC<Insecure.MD5>.authenticationCode(for: out[..<length], using: SymmetricKey(data: secret)))
        out.replaceSubrange(valueOffset..<(valueOffset + valueCount), with: mac.prefix(valueCount) + [UInt8](repeating: 0, count: max(0, valueCount - 16)))
        return out
    }

    static func withLength(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        var out = bytes
        out[2] = UInt8(truncatingIfNeeded: length >> 8)
        out[3] = UInt8(truncatingIfNeeded: length)
        return out
    }

    /// A signed Access-Request for the test user, padded to exactly 4096 octets with `filler` attributes of 2 octets
    /// (one of 3 when the count is odd).
    static func fullPacket(_ authenticator: [UInt8], password: String = password, filler: RADIUSAttributeType) -> [UInt8] {
        let base = 20 + 18 + 2 + user.utf8.count + 18
        let room = RADIUSPacket.maximumLength - base
        var extra = [RADIUSAttribute](repeating: RADIUSAttribute(type: filler, value: []), count: room / 2)
        if room % 2 == 1 { extra[0] = RADIUSAttribute(type: filler, value: [0x00]) }
        let packet = login(authenticator, password: password, extra: extra)
        precondition(packet.count == RADIUSPacket.maximumLength)
        return packet
    }

    static func vendorSpecific(_ value: [UInt8]) -> RADIUSAttribute { RADIUSAttribute(type: .vendorSpecific, value: value) }

    static func messageAuthenticator(count: Int) -> RADIUSAttribute {
        RADIUSAttribute(type: .messageAuthenticator, value: [UInt8](repeating: 0, count: count))
    }

    /// A signed request with a Message-Authenticator of `count` octets in first place, "signed" as far as it can be.
    static func messageAuthenticatorOfSize(_ count: Int, _ authenticator: [UInt8]) -> [UInt8] {
        let bytes = unsigned(authenticator, [messageAuthenticator(count: count), userName(), userPassword(password, authenticator)])
        return count >= 16 ? sign(bytes, valueOffset: 22) : bytes
    }

    // MARK: The cases

    static let cases: [Case] = [
        // RFC 2865 §3: the header.
        Case("empty datagram", .silence) { _ in [] },
        Case("one octet", .silence) { _ in [0x01] },
        Case("truncated header of 19 octets", .silence) { login($0).prefix(19).map { $0 } },
        Case("header alone, Length 20, no Message-Authenticator", .silence) { withLength(Array(login($0).prefix(20)), 20) },
        Case("Length 0", .silence) { withLength(login($0), 0) },
        Case("Length 19, below the minimum", .silence) { withLength(login($0), 19) },
        Case("Length 4097, above the maximum", .silence) { withLength(login($0), 4097) },
        Case("Length 65535", .silence) { withLength(login($0), 0xFFFF) },
        Case("Length one more than the datagram", .silence) { let p = login($0); return withLength(p, p.count + 1) },
        Case("Length 4096 on a short datagram", .silence) { withLength(login($0), 4096) },
        Case("datagram cut short by one octet", .silence) { login($0).dropLast().map { $0 } },
        Case("Length ending inside an attribute", .silence) { let p = login($0); return withLength(p, p.count - 3) },
        Case("Length ending inside the Message-Authenticator", .silence) { withLength(login($0), 30) },
        // RFC 2865 §3: octets past Length are padding, ignored; the Message-Authenticator covers Length octets only.
        Case("padding after Length", accept) { login($0) + [UInt8](repeating: 0xA5, count: 11) },

        // RFC 2865 §5: attribute lengths.
        Case("attribute length 0", .silence) { a in
            var p = login(a)
            p[38 + 1] = 0
            return sign(p, valueOffset: 22)
        },
        Case("attribute length 1", .silence) { a in
            var p = login(a)
            p[38 + 1] = 1
            return sign(p, valueOffset: 22)
        },
        Case("last attribute running past the end", .silence) { a in
            let p = login(a, extra: [RADIUSAttribute(type: .callingStationId, string: "abc")])
            var q = p
            q[p.count - 5 + 1] = 200
            return sign(q, valueOffset: 22)
        },
        Case("attribute length 255 on a short packet", .silence) { a in
            var p = login(a)
            p[38 + 1] = 255
            return sign(p, valueOffset: 22)
        },
        Case("lone type octet at the end", .silence) { a in
            let p = login(a) + [RADIUSAttributeType.replyMessage.rawValue]
            return sign(withLength(p, p.count), valueOffset: 22)
        },
        Case("4096 octets of 2-octet attributes, unsigned", .silence) { a in
            unsigned(a, [RADIUSAttribute](repeating: RADIUSAttribute(type: .nasIdentifier, value: []), count: 2038))
        },
        Case("4096 octets of 2-octet unknown attributes, signed", accept) { fullPacket($0, filler: RADIUSAttributeType(rawValue: 254)) },
        Case("4096 octets of empty Proxy-State, signed, right password", accept) { fullPacket($0, filler: .proxyState) },
        // RFC 2865 §5.33 wants every Proxy-State back; with a Reply-Message too the reply would exceed 4096 octets.
        Case("4096 octets of empty Proxy-State, signed, wrong password", .reply(.accessReject, replyMessage: nil)) {
            fullPacket($0, password: "wrong", filler: .proxyState)
        },
        Case("attribute of type 0, signed", accept) { login($0, extra: [RADIUSAttribute(type: RADIUSAttributeType(rawValue: 0), value: [])]) },

        // RFC 2865 §3 / RFC 5997: codes the authentication port does not serve.
        Case("Access-Accept sent to the server", .silence) { signed(.accessAccept, $0, [userName()]) },
        Case("Access-Reject sent to the server", .silence) { signed(.accessReject, $0, [userName()]) },
        Case("Access-Challenge sent to the server", .silence) { signed(.accessChallenge, $0, [userName()]) },
        Case("Accounting-Request", .silence) { a in
            RADIUSPacket.encodeAccountingRequest(
                code: .accountingRequest, identifier: identifier, attributes: [RADIUSAttribute(type: .acctStatusType, integer: 1)],
                secret: secret)
        },
        Case("Status-Client", .silence) { signed(.statusClient, $0, []) },
        Case("Disconnect-Request", .silence) { signed(.disconnectRequest, $0, [userName()]) },
        Case("CoA-Request", .silence) { signed(.coaRequest, $0, [userName()]) },
        Case("code 0", .silence) { signed(RADIUSCode(rawValue: 0), $0, [userName(), userPassword(password, $0)]) },
        Case("code 255", .silence) { signed(RADIUSCode(rawValue: 255), $0, [userName(), userPassword(password, $0)]) },

        // RFC 3579 §3.2, RFC 5997 §3, BlastRADIUS: the Message-Authenticator.
        Case("no Message-Authenticator", .silence) { unsigned($0, [userName(), userPassword(password, $0)]) },
        Case("Message-Authenticator with a flipped bit", .silence) { a in
            var p = login(a)
            p[22] ^= 0x01
            return p
        },
        Case("Message-Authenticator made with another secret", .silence) { a in
            RADIUSPacket.encodeRequest(
                code: .accessRequest, identifier: identifier, authenticator: a,
                attributes: [userName(), userPassword(password, a)], secret: Array("not-the-secret".utf8))
        },
        Case("Request Authenticator changed after signing", .silence) { a in
            var p = login(a)
            p[4] ^= 0xFF
            return p
        },
        Case("Message-Authenticator twice, each signed", .silence) { a in
            let p = unsigned(a, [messageAuthenticator(count: 16), userName(), userPassword(password, a), messageAuthenticator(count: 16)])
            return sign(sign(p, valueOffset: p.count - 16), valueOffset: 22)
        },
        Case("Message-Authenticator of 0 octets", .silence) { messageAuthenticatorOfSize(0, $0) },
        Case("Message-Authenticator of 15 octets", .silence) { messageAuthenticatorOfSize(15, $0) },
        Case("Message-Authenticator of 17 octets", .silence) { messageAuthenticatorOfSize(17, $0) },
        Case("Status-Server without Message-Authenticator", .silence) { unsigned(.statusServer, $0, []) },
        Case("Status-Server with a wrong Message-Authenticator", .silence) { a in
            var p = signed(.statusServer, a, [])
            p[37] ^= 0x80
            return p
        },

        // Signed, so they pass the checks above and reach the mapping and the decision.
        Case("User-Password of 0 octets", malformed) { signed($0, [userName(), RADIUSAttribute(type: .userPassword, value: [])]) },
        Case("User-Password of 1 octet", malformed) { signed($0, [userName(), RADIUSAttribute(type: .userPassword, value: [0x41])]) },
        Case("User-Password of 15 octets", malformed) { a in
            signed(a, [userName(), RADIUSAttribute(type: .userPassword, value: Array(userPassword(password, a).value.prefix(15)))])
        },
        Case("User-Password of 17 octets", malformed) { a in
            signed(a, [userName(), RADIUSAttribute(type: .userPassword, value: userPassword(password, a).value + [0x00])])
        },
        Case("User-Password of 144 octets", malformed) { a in
            signed(a, [userName(), RADIUSAttribute(type: .userPassword, value: [UInt8](repeating: 0x5A, count: 144))])
        },
        Case("User-Password of 253 octets", malformed) { a in
            signed(a, [userName(), RADIUSAttribute(type: .userPassword, value: [UInt8](repeating: 0x5A, count: 253))])
        },
        Case("User-Name of 0 octets", malformed) { signed($0, [RADIUSAttribute(type: .userName, value: []), userPassword(password, $0)]) },
        Case("no User-Name", malformed) { signed($0, [userPassword(password, $0)]) },
        Case("CHAP-Password instead of User-Password", .reply(.accessReject, replyMessage: "Only PAP is supported")) {
            signed($0, [userName(), RADIUSAttribute(type: .chapPassword, value: [UInt8](repeating: 7, count: 17))])
        },
        // RFC 2865 §5.44: at most one User-Name, User-Password and State in an Access-Request.
        Case("User-Name twice", malformed) { signed($0, [userName(), userName("mallory"), userPassword(password, $0)]) },
        Case("User-Password twice", malformed) { a in
            signed(a, [userName(), userPassword("wrong", a), userPassword(password, a)])
        },
        Case("State twice", malformed) { a in
            login(a, extra: [RADIUSAttribute(type: .state, value: SecureRandom.bytes(16)), RADIUSAttribute(type: .state, value: SecureRandom.bytes(16))])
        },
        Case("State never issued", .reply(.accessReject, replyMessage: "Verification expired, log in again")) {
            login($0, extra: [RADIUSAttribute(type: .state, value: SecureRandom.bytes(16))])
        },
        Case("State of 0 octets", .reply(.accessReject, replyMessage: "Verification expired, log in again")) {
            login($0, extra: [RADIUSAttribute(type: .state, value: [])])
        },
        // The store looks names up as C strings: without a guard this one logged in as alice.
        Case("User-Name with a NUL after a real name", wrongPassword) { signed($0, [userName("alice\u{0}"), userPassword(password, $0)]) },
        Case("User-Name with a NUL and more after a real name", wrongPassword) {
            signed($0, [userName("alice\u{0}admin"), userPassword(password, $0)])
        },
        Case("User-Name of invalid UTF-8", wrongPassword) {
            signed($0, [RADIUSAttribute(type: .userName, value: [0x61, 0xFF, 0xFE, 0xC0, 0x80]), userPassword(password, $0)])
        },

        // RFC 2865 §5.26: the server does not interpret these Vendor-Specifics, and must not trip over them.
        Case("VSA with a zero-length sub-attribute", accept) { login($0, extra: [vendorSpecific([0, 0, 0x01, 0x37, 1, 0, 0x41, 0x42])]) },
        Case("VSA with a sub-attribute of length 1", accept) { login($0, extra: [vendorSpecific([0, 0, 0x01, 0x37, 1, 1, 0x41])]) },
        Case("VSA sub-attribute running past the attribute", accept) { login($0, extra: [vendorSpecific([0, 0, 0x01, 0x37, 1, 40, 0x41])]) },
        Case("VSA shorter than its Vendor-Id", accept) { login($0, extra: [vendorSpecific([0, 0])]) },
        Case("VSA of 253 octets of zero-length sub-attributes", accept) {
            login($0, extra: [vendorSpecific([0, 0, 0x01, 0x37] + [UInt8](repeating: 0, count: 249))])
        },
    ]

    // MARK: The test

    @Test(arguments: cases)
    func malformedDatagram(_ input: Case) async throws {
        try await TestGateway.with(unenrolled: .allow) { gateway in
            try await gateway.addUser(Self.user, password: Self.password, totp: false)
            let client = try UDPTestClient(port: gateway.ipv4Port)
            let authenticator = SecureRandom.bytes(16)
            client.send(input.build(authenticator))

            switch input.expected {
            case .silence:
                // Silence is the expected outcome here: a short wait shows there is none.
                let reply = try await client.receive(timeout: 0.3)
                #expect(reply == nil, "expected no reply, got \(reply.map { (try? RADIUSPacket(decoding: $0))?.code.description ?? "\($0)" } ?? "")")
            case .reply(let code, let replyMessage):
                let raw = try #require(await client.receive(timeout: 10), "expected \(code), got no reply")
                let reply = try RADIUSPacket(decoding: raw)
                #expect(reply.code == code)
                #expect(reply.identifier == Self.identifier)
                #expect(reply.attributes.first?.type == .messageAuthenticator)
                #expect(RADIUSAuthenticators.verifyResponseAuthenticator(raw: raw, requestAuthenticator: authenticator, secret: Self.secret))
                #expect(
                    RADIUSAuthenticators.checkReplyMessageAuthenticator(raw: raw, requestAuthenticator: authenticator, secret: Self.secret)
                        == .valid)
                #expect(reply.attribute(.replyMessage)?.stringValue == replyMessage)
                #expect(raw.count <= RADIUSPacket.maximumLength)
            }

            try await Self.expectStatusServerAnswered(client)

            // Bookkeeping: a dropped datagram leaves nothing behind; an answered one leaves its cached reply only
            // (RFC 5080 §2.2.2, for retransmits), and nothing is still being decided or waiting for a code.
            let held = try await gateway.gateway.radius.bookkeeping()
            let answered = if case .reply = input.expected { 1 } else { 0 }
            #expect(held.cached == answered)
            #expect(held.inProgress == 0 && held.deciding == 0)
            #expect(gateway.gateway.authenticator.outstandingChallenges == 0)
        }
    }

    /// A client allowed to omit Message-Authenticator can fill a request with so much Proxy-State that even the
    /// shortest refusal (Access-Reject, Message-Authenticator, every Proxy-State back) exceeds 4096 octets: no correct
    /// reply exists, so none is sent, and nothing is kept for it.
    @Test func proxyStateLeavingNoRoomForAnyReply() async throws {
        try await TestGateway.with(clients: TestGateway.defaultClients(requireMessageAuthenticator: false)) { gateway in
            let client = try UDPTestClient(port: gateway.ipv4Port)
            // An empty User-Name is refused at once, without a decision; 4074 octets of Proxy-State come back with it.
            let room = RADIUSPacket.maximumLength - 20
            var attributes = [RADIUSAttribute](repeating: RADIUSAttribute(type: .proxyState, value: []), count: room / 2)
            attributes[0] = RADIUSAttribute(type: .userName, value: [])
            let request = Self.unsigned(SecureRandom.bytes(16), attributes)
            #expect(request.count == RADIUSPacket.maximumLength)
            client.send(request)
            // Silence is the expected outcome here.
            #expect(try await client.receive(timeout: 0.3) == nil)
            try await Self.expectStatusServerAnswered(client)
            let held = try await gateway.gateway.radius.bookkeeping()
            #expect(held.cached == 0 && held.inProgress == 0 && held.deciding == 0)
        }
    }

    /// RFC 5997: Status-Server with a Message-Authenticator, from the same socket, gets Access-Accept.
    static func expectStatusServerAnswered(_ client: UDPTestClient) async throws {
        let authenticator = SecureRandom.bytes(16)
        let identifier: UInt8 = 200
        client.send(RADIUSPacket.encodeRequest(code: .statusServer, identifier: identifier, authenticator: authenticator, attributes: [], secret: secret))
        while true {
            let raw = try #require(await client.receive(timeout: 10), "Status-Server not answered")
            let reply = try RADIUSPacket(decoding: raw)
            guard reply.identifier == identifier else {
                Issue.record("unexpected late reply \(reply.code) to Identifier \(reply.identifier)")
                continue
            }
            #expect(reply.code == .accessAccept)
            #expect(RADIUSAuthenticators.verifyResponseAuthenticator(raw: raw, requestAuthenticator: authenticator, secret: secret))
            return
        }
    }
}
