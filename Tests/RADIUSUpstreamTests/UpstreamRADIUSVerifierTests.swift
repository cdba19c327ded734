import CountersignConfig
import Foundation
import MFACore
import NIOCore
import RADIUSCodec
import Testing

@testable import RADIUSUpstream

@Suite("Upstream RADIUS as the password check")
struct UpstreamRADIUSVerifierTests {
    static let secret = UpstreamRADIUSClientTests.secret

    static let dictionary: RADIUSDictionary = {
        let text = """
            ATTRIBUTE User-Name 1 string
            ATTRIBUTE Filter-Id 11 string
            ATTRIBUTE Reply-Message 18 string
            ATTRIBUTE State 24 octets
            ATTRIBUTE Class 25 octets
            ATTRIBUTE Vendor-Specific 26 octets
            ATTRIBUTE Session-Timeout 27 integer
            ATTRIBUTE Proxy-State 33 octets
            VENDOR Cisco 9
            BEGIN-VENDOR Cisco
            ATTRIBUTE Cisco-AVPair 1 string
            ATTRIBUTE Cisco-NAS-Port 2 string
            END-VENDOR Cisco
            """
        return try! RADIUSDictionary.load(file: "dictionary") { _ in text }
    }()

    static func ciscoPair(_ pairs: [(UInt8, String)]) -> RADIUSAttribute {
        RADIUSVendorSpecific(vendorID: 9, subAttributes: pairs.map { .init(type: $0.0, value: Array($0.1.utf8)) }).attribute
    }

    static let acceptAttributes = [
        RADIUSAttribute(type: .class, string: "upstream-class"),
        RADIUSAttribute(type: .filterId, string: "vpn"),
        RADIUSAttribute(type: .replyMessage, string: "Welcome"),
        RADIUSAttribute(type: .sessionTimeout, integer: 3600),
        RADIUSAttribute(type: .proxyState, value: [1, 2]),
        ciscoPair([(1, "shell:priv-lvl=15"), (2, "port")]),
    ]

    @Test("pass_through picks named attributes, a vendor's one by one; never Reply-Message, State or Proxy-State")
    func passThrough() throws {
        let named = try PassThroughFilter(.named(["Class", "Cisco-AVPair"]), dictionary: Self.dictionary)
        #expect(named.select(Self.acceptAttributes) == [
            ReplyAttribute(RADIUSAttribute(type: .class, string: "upstream-class")),
            ReplyAttribute(Self.ciscoPair([(1, "shell:priv-lvl=15")])),
        ])
        let all = try PassThroughFilter(.all, dictionary: Self.dictionary)
        #expect(all.select(Self.acceptAttributes).map(\.type) == [25, 11, 27, 26])
        let none = try PassThroughFilter(.named([]), dictionary: Self.dictionary)
        #expect(none.select(Self.acceptAttributes).isEmpty)
    }

    @Test("an unknown or never-passed name is an error naming its place in pass_through")
    func passThroughErrors() {
        for (names, key) in [(["Class", "Klass"], "primary.pass_through[1]"), (["state"], "primary.pass_through[0]")] {
            do {
                _ = try PassThroughFilter(.named(names), dictionary: Self.dictionary)
                Issue.record("\(names) accepted")
            } catch {
                #expect(error.key == key)
                #expect(error.code == .invalidValue)
            }
        }
    }

    @Test("Accept → valid with the chosen attributes; Reject → invalid; silence → unavailable")
    func verdicts() async throws {
        let upstream = try await LoopbackRADIUSServer { request in
            switch LoopbackRADIUSServer.password(request, secret: Self.secret) {
            case "right": [LoopbackRADIUSServer.reply(.accessAccept, to: request, attributes: Self.acceptAttributes, secret: Self.secret)]
            case "silence": []
            default: [LoopbackRADIUSServer.reply(.accessReject, to: request, secret: Self.secret)]
            }
        }
        let verifier = UpstreamRADIUSVerifier(
            client: UpstreamRADIUSClient(servers: [UpstreamRADIUSClientTests.server(upstream.address, timeout: 0.2)]),
            passThrough: try PassThroughFilter(.named(["Class", "Filter-Id"]), dictionary: Self.dictionary))
        let grant = Grant(groups: [], attributes: [
            ReplyAttribute(type: 25, value: Array("upstream-class".utf8)), ReplyAttribute(type: 11, value: Array("vpn".utf8)),
        ])
        #expect(await verifier.verify(username: "carol", password: "right", credentials: nil) == .valid(grant))
        #expect(await verifier.verify(username: "carol", password: "wrong", credentials: nil) == .invalid)
        #expect(await verifier.verify(username: "carol", password: "silence", credentials: nil) == .unavailable)
        // Too long for User-Password (RFC 2865 §5.2): never sent.
        let before = upstream.requests.count
        #expect(await verifier.verify(username: "carol", password: String(repeating: "x", count: 129), credentials: nil) == .invalid)
        #expect(upstream.requests.count == before)
        await verifier.client.close()
        await upstream.close()
    }

    @Test("an upstream Access-Challenge: its Reply-Messages joined as they are, and the answer goes to the same server with its State")
    func challengeRelayed() async throws {
        let state: [UInt8] = [0x70, 0x69, 0x6e, 0, 0xff]
        let makeUpstream = { @Sendable (name: String) in
            try await LoopbackRADIUSServer { request in
                if let sent = request.packet.attribute(.state)?.value {
                    let right = sent == state && LoopbackRADIUSServer.password(request, secret: Self.secret) == "4321"
                    return [LoopbackRADIUSServer.reply(
                        right ? .accessAccept : .accessReject, to: request,
                        attributes: [RADIUSAttribute(type: .class, string: name)], secret: Self.secret)]
                }
                return [LoopbackRADIUSServer.reply(
                    .accessChallenge, to: request,
                    attributes: [
                        RADIUSAttribute(type: .replyMessage, string: "Enter your "),
                        RADIUSAttribute(type: .replyMessage, string: "PIN:\n"),
                        RADIUSAttribute(type: .state, value: state),
                    ], secret: Self.secret)]
            }
        }
        let silent = try await LoopbackRADIUSServer { _ in [] }
        let second = try await makeUpstream("second")
        let clock = ManualWallClock()
        let verifier = UpstreamRADIUSVerifier(
            client: UpstreamRADIUSClient(
                servers: [UpstreamRADIUSClientTests.server(silent.address, timeout: 0.2), UpstreamRADIUSClientTests.server(second.address)],
                clock: clock),
            passThrough: try PassThroughFilter(.named(["Class"]), dictionary: Self.dictionary))
        let verdict = await verifier.verify(username: "carol", password: "carol-pw", credentials: nil)
        guard case .challenge(let prompt, let opaque) = verdict else {
            Issue.record("expected a challenge, got \(verdict)")
            return
        }
        #expect(prompt == "Enter your PIN:\n")
        #expect(UpstreamChallenge(opaque) == UpstreamChallenge(server: 1, state: state))
        let accepted = await verifier.answer(username: "carol", response: "4321", state: opaque, credentials: nil)
        #expect(accepted == .valid(Grant(groups: [], attributes: [ReplyAttribute(type: 25, value: Array("second".utf8))])))
        #expect(second.requests.last?.packet.attribute(.state)?.value == state)
        #expect(second.requests.last?.packet.attribute(.userName)?.stringValue == "carol")
        #expect(await verifier.answer(username: "carol", response: "0000", state: opaque, credentials: nil) == .invalid)
        // A state this verifier never made, or one naming a server it does not have.
        #expect(await verifier.answer(username: "carol", response: "4321", state: [9, 0], credentials: nil) == .invalid)
        #expect(await verifier.answer(username: "carol", response: "4321", state: [], credentials: nil) == .invalid)
        await verifier.client.close()
        await silent.close()
        await second.close()
    }

    @Test("the challenge state round-trips, with and without an upstream State")
    func challengeStateEncoding() {
        for challenge in [UpstreamChallenge(server: 0, state: nil), UpstreamChallenge(server: 3, state: []), UpstreamChallenge(server: 255, state: [1, 2, 3])] {
            #expect(UpstreamChallenge(challenge.encoded) == challenge)
        }
        #expect(UpstreamChallenge([0, 0, 1]) == nil)
        #expect(UpstreamChallenge([0, 2]) == nil)
        #expect(UpstreamChallenge([0]) == nil)
    }
}
