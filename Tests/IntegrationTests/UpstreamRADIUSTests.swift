import CountersignConfig
import Foundation
import MFACore
import Testing

/// `primary.source = "radius"` against a real FreeRADIUS, with radclient as the NAS in front of Countersign.
@Suite("Upstream RADIUS server as the password check (FreeRADIUS)")
struct UpstreamRADIUSTests {
    static func primary(_ servers: [UpstreamRADIUSSettings]) -> PrimarySettings {
        PrimarySettings(source: .radius, radius: servers, passThrough: .named(["Class", "Filter-Id"]))
    }

    /// How radclient shows an octets attribute such as Class.
    static func hex(_ text: String) -> String { "0x" + text.utf8.map { String(format: "%02x", $0) }.joined() }

    static func request(_ user: String, _ password: String, state: String? = nil) -> [String] {
        ["User-Name = \(Radclient.quoted(user))", "User-Password = \(Radclient.quoted(password))", "Message-Authenticator = 0x00"]
            + (state.map { ["State = \($0)"] } ?? [])
    }

    @Test("accepted upstream, then the appended code: Access-Accept with the upstream's Class and Filter-Id, not its Reply-Message")
    func acceptedWithPassThrough() async throws {
        try await TestFreeRADIUS.with { upstream in
            try await TestGateway.with(primary: Self.primary([upstream.server()])) { gateway in
                // The local password is not the one that counts.
                let secret = try await gateway.addUser("carol", password: "local-password")
                let reply = try await gateway.radclient().send(Self.request("carol", "carol-upstream," + gateway.code(secret)))
                #expect(reply.code == "Access-Accept", "\(reply.output)")
                #expect(reply.value("Class") == Self.hex("upstream-class"))
                #expect(reply.value("Filter-Id") == "vpn-filter")
                #expect(reply.values("Reply-Message").isEmpty)
            }
        }
    }

    @Test("refused upstream: Access-Reject, even with the local password and a right code")
    func rejectedUpstream() async throws {
        try await TestFreeRADIUS.with { upstream in
            try await TestGateway.with(primary: Self.primary([upstream.server()])) { gateway in
                let secret = try await gateway.addUser("carol", password: "local-password")
                let wrong = try await gateway.radclient().send(Self.request("carol", "local-password," + gateway.code(secret)))
                #expect(wrong.code == "Access-Reject", "\(wrong.output)")
                #expect(wrong.values("Class").isEmpty)
            }
        }
    }

    @Test("the upstream's own Access-Challenge reaches the NAS with its Reply-Message; the PIN goes back, then the code")
    func upstreamChallengeRelayed() async throws {
        try await TestFreeRADIUS.with { upstream in
            try await TestGateway.with(primary: Self.primary([upstream.server()])) { gateway in
                let secret = try await gateway.addUser("pin-user", password: "local-password")
                let radclient = gateway.radclient()
                let challenge = try await radclient.send(Self.request("pin-user", "pin-user-pw"))
                #expect(challenge.code == "Access-Challenge", "\(challenge.output)")
                #expect(challenge.values("Reply-Message") == ["Enter your PIN"])
                let state = try #require(challenge.value("State"))
                // Countersign's own State, not the upstream's.
                #expect(state != TestFreeRADIUS.challengeState)

                let pinAccepted = try await radclient.send(Self.request("pin-user", "4321", state: state))
                #expect(pinAccepted.code == "Access-Challenge", "\(pinAccepted.output)")
                let codeState = try #require(pinAccepted.value("State"))
                let accepted = try await radclient.send(Self.request("pin-user", gateway.code(secret), state: codeState))
                #expect(accepted.code == "Access-Accept", "\(accepted.output)")
                #expect(accepted.value("Class") == Self.hex("pin-class"))

                // A wrong PIN: the upstream refuses it.
                let again = try await radclient.send(Self.request("pin-user", "pin-user-pw"))
                let againState = try #require(again.value("State"))
                let wrongPIN = try await radclient.send(Self.request("pin-user", "0000", state: againState))
                #expect(wrongPIN.code == "Access-Reject", "\(wrongPIN.output)")
            }
        }
    }

    @Test("the first upstream does not answer: the second one checks the password")
    func failoverToSecondUpstream() async throws {
        try await TestFreeRADIUS.with { upstream in
            let silent = UpstreamRADIUSSettings(
                host: "127.0.0.1", port: try freeLoopbackPort(type: Int32(SOCK_DGRAM.rawValue)), secret: "nobody-listens",
                timeoutSeconds: 0.5)
            try await TestGateway.with(primary: Self.primary([silent, upstream.server()])) { gateway in
                let secret = try await gateway.addUser("carol", password: "local-password")
                // The second login goes straight to the second server; its code the next step's (no code counts twice).
                for step in 0..<2 {
                    let code = gateway.code(secret, stepOffset: Int64(step))
                    let reply = try await gateway.radclient().send(Self.request("carol", "carol-upstream," + code))
                    #expect(reply.code == "Access-Accept", "\(reply.output)")
                    #expect(reply.value("Class") == Self.hex("upstream-class"))
                }
            }
        }
    }
}
