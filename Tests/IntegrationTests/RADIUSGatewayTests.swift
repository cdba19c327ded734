import CountersignConfig
import Foundation
import MFACore
import RADIUSCodec
import Testing

@testable import RADIUSServer

/// The running gateway driven by FreeRADIUS's radclient, as a VPN concentrator would.
@Suite struct RADIUSGatewayTests {
    static func login(_ user: String, _ password: String, extra: [String] = [], messageAuthenticator: Bool = true) -> [String] {
        ["User-Name = \(Radclient.quoted(user))", "User-Password = \(Radclient.quoted(password))"]
            + (messageAuthenticator ? ["Message-Authenticator = 0x00"] : []) + extra
    }

    @Test func appendedCodeIsAccepted() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "correct horse")
            let reply = try await gateway.radclient().send(Self.login("alice", "correct horse,\(gateway.code(secret))"))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(reply.value("Message-Authenticator") != nil)
            let events = try await gateway.events(.radiusAuth)
            #expect(events.count == 1 && events[0].result == .success && events[0].user == "alice")
            #expect(events[0].resource == "radius:local" && events[0].clientAddress == "127.0.0.1")
        }
    }

    @Test func challengeRoundTripCarriesTheStateBack() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "correct horse")
            let client = gateway.radclient()
            let challenge = try await client.send(Self.login("alice", "correct horse"))
            #expect(challenge.code == "Access-Challenge", "\(challenge.output)")
            #expect(challenge.value("Reply-Message") == "Enter your verification code")
            let state = try #require(challenge.value("State"))
            #expect(state.hasPrefix("0x") && state.count == 2 + 32)

            let answer = try await client.send(Self.login("alice", gateway.code(secret), extra: ["State = \(state)"]))
            #expect(answer.code == "Access-Accept", "\(answer.output)")

            // The State is single-use: the same State with a fresh code is refused.
            let reused = try await client.send(Self.login("alice", gateway.code(secret, stepOffset: 1), extra: ["State = \(state)"]))
            #expect(reused.code == "Access-Reject")
            #expect(reused.value("Reply-Message") == "Verification expired, log in again")
        }
    }

    @Test func wrongPasswordWrongCodeAndReplayedCodeAreRejected() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "correct horse")
            let client = gateway.radclient()
            let code = gateway.code(secret)

            let wrongPassword = try await client.send(Self.login("alice", "battery staple,\(code)"))
            #expect(wrongPassword.code == "Access-Reject")
            #expect(wrongPassword.value("Reply-Message") == "Wrong username or password")

            let unknownUser = try await client.send(Self.login("mallory", "battery staple,\(code)"))
            #expect(unknownUser.code == "Access-Reject")
            #expect(unknownUser.value("Reply-Message") == wrongPassword.value("Reply-Message"))

            let wrongCode = try await client.send(Self.login("alice", "correct horse,\(gateway.wrongCode(secret))"))
            #expect(wrongCode.code == "Access-Reject")
            #expect(wrongCode.value("Reply-Message") == "Invalid verification code")

            #expect(try await client.send(Self.login("alice", "correct horse,\(code)")).code == "Access-Accept")
            let replayed = try await client.send(Self.login("alice", "correct horse,\(code)"))
            #expect(replayed.code == "Access-Reject")
            let replayedEvent = try await gateway.events(.radiusAuth).last
            #expect(replayedEvent?.error == "replayed_code" && replayedEvent?.details["factor"] == "totp")
        }
    }

    @Test func userWithoutSecondFactorIsRejectedUnlessAllowed() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let reply = try await gateway.radclient().send(Self.login("bob", "pw"))
            #expect(reply.code == "Access-Reject")
            #expect(reply.value("Reply-Message") == "No second factor enrolled")
        }
        try await TestGateway.with(unenrolled: .allow) { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            #expect(try await gateway.radclient().send(Self.login("bob", "pw")).code == "Access-Accept")
        }
    }

    @Test func unknownClientWrongSecretAndMissingMessageAuthenticatorGetNoReply() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let wrongSecret = try await gateway.radclient(secret: "not-the-secret", timeout: 1).send(Self.login("alice", "pw,\(gateway.code(secret))"))
            #expect(wrongSecret.code == nil && wrongSecret.exitCode != 0, "\(wrongSecret.output)")

            let noAuthenticator = try await gateway.radclient(timeout: 1).send(
                Self.login("alice", "pw,\(gateway.code(secret))", messageAuthenticator: false))
            #expect(noAuthenticator.code == nil, "\(noAuthenticator.output)")
        }
        let elsewhere = [RADIUSClientSettings(name: "elsewhere", network: IPNetwork("192.0.2.0/24")!, secret: TestGateway.secret)]
        try await TestGateway.with(clients: elsewhere) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let reply = try await gateway.radclient(timeout: 1).send(Self.login("alice", "pw,\(gateway.code(secret))"))
            #expect(reply.code == nil && reply.exitCode != 0, "\(reply.output)")
        }
    }

    @Test func messageAuthenticatorIsOptionalOnlyWhereConfigured() async throws {
        try await TestGateway.with(clients: TestGateway.defaultClients(requireMessageAuthenticator: false)) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let reply = try await gateway.radclient().send(Self.login("alice", "pw,\(gateway.code(secret))", messageAuthenticator: false))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            // The reply carries one anyway.
            #expect(reply.value("Message-Authenticator") != nil)
        }
    }

    @Test func statusServerIsAnswered() async throws {
        try await TestGateway.with { gateway in
            let reply = try await gateway.radclient().send(["Message-Authenticator = 0x00"], command: "status")
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(try await gateway.events().isEmpty)
        }
    }

    @Test func proxyStateIsEchoedInOrder() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let reply = try await gateway.radclient().send(
                Self.login("alice", "pw,\(gateway.code(secret))", extra: ["Proxy-State = 0x6f6e65", "Proxy-State = 0x74776f"]))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(reply.values("Proxy-State") == ["0x6f6e65", "0x74776f"])
        }
    }

    @Test func longPasswordsAndUTF8NamesWork() async throws {
        try await TestGateway.with { gateway in
            let password = String(repeating: "pässwörd-", count: 8) + "12345"  // 93 octets; 100 with ",123456"
            let secret = try await gateway.addUser("jürgen-ß", password: String(password))
            let typed = "\(password),\(gateway.code(secret))"
            #expect(typed.utf8.count == 100)
            let reply = try await gateway.radclient().send(Self.login("jürgen-ß", typed))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(try await gateway.events(.radiusAuth).first?.user == "jürgen-ß")
        }
    }

    @Test func ipv6ClientsAreServed() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let reply = try await gateway.radclient(ipv6: true).send(Self.login("alice", "pw,\(gateway.code(secret))"))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(try await gateway.events(.radiusAuth).first?.resource == "radius:local6")
        }
    }

    @Test func secondFactorOnlyClientsSendTheCodeAlone() async throws {
        try await TestGateway.with(clients: TestGateway.defaultClients(mode: .secondFactorOnly)) { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            let client = gateway.radclient()
            #expect(try await client.send(Self.login("alice", gateway.code(secret))).code == "Access-Accept")
            #expect(try await client.send(Self.login("alice", "pw,\(gateway.code(secret, stepOffset: 1))")).code == "Access-Reject")
        }
    }

    /// radclient cannot retransmit on demand, so this sends the same datagram twice by hand.
    @Test func retransmitGetsTheIdenticalReplyAndOneEvent() async throws {
        try await TestGateway.with { gateway in try await Self.expectRetransmitAnsweredOnce(gateway) }
    }

    /// On a fixed port each event loop reads from a socket of its own (SO_REUSEPORT). The kernel keeps each sender
    /// on one of them, so a retransmit still meets the duplicate cache that saw the first copy, and logins from
    /// many source ports are all answered.
    @Test func aFixedPortHasASocketPerEventLoop() async throws {
        try await TestGateway.with(radiusPort: try UDPTestClient.freePort()) { gateway in
            let radius = gateway.gateway.radius
            // One socket per loop on the fixed IPv4 port, one on the IPv6 port 0 (see RADIUSServer.bindSockets).
            #expect(radius.socketCount == radius.eventLoopCount + 1)
            try await Self.expectRetransmitAnsweredOnce(gateway)
            // radclient takes a new source port each run: every one is answered, whichever socket it lands on.
            let users = (0..<6).map { "user\($0)" }
            var secrets: [String: [UInt8]] = [:]
            for user in users { secrets[user] = try await gateway.addUser(user, password: "pw") }
            let radclient = gateway.radclient()
            try await withThrowingTaskGroup(of: String?.self) { group in
                for user in users {
                    let code = gateway.code(secrets[user]!)
                    group.addTask { try await radclient.send(Self.login(user, "pw,\(code)")).code }
                }
                for try await code in group { #expect(code == "Access-Accept") }
            }
        }
    }

    static func expectRetransmitAnsweredOnce(_ gateway: TestGateway) async throws {
        let secret = try await gateway.addUser("alice", password: "pw")
        let shared = Array(TestGateway.secret.utf8)
        let authenticator = SecureRandom.bytes(16)
        let request = RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: 42, authenticator: authenticator,
            attributes: [
                RADIUSAttribute(type: .userName, string: "alice"),
                RADIUSAttribute(
                    type: .userPassword,
                    value: RADIUSUserPassword.hide(
                        Array("pw,\(gateway.code(secret))".utf8), secret: shared, requestAuthenticator: authenticator)),
            ],
            secret: shared)
        let client = try UDPTestClient(port: gateway.ipv4Port)
        client.send(request)
        let first = try #require(await client.receive())
        client.send(request)
        let second = try #require(await client.receive())
        #expect(first == second)
        let reply = try RADIUSPacket(decoding: first)
        #expect(reply.code == .accessAccept)
        #expect(reply.attributes.first?.type == .messageAuthenticator)
        #expect(RADIUSAuthenticators.verifyResponseAuthenticator(raw: first, requestAuthenticator: authenticator, secret: shared))
        #expect(try await gateway.events(.radiusAuth).count == 1)
        #expect(try await gateway.events(.totpAttempt).isEmpty)
    }
}
