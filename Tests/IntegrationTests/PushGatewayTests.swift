import CountersignConfig
import SQLiteStore
import Crypto
import DeviceProtocol
import Foundation
import MFACore
import RADIUSCodec
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Push end to end: radclient as the VPN, the real `countersign-device` as the phone.
@Suite struct PushGatewayTests {
    static func login(_ user: String, _ password: String, extra: [String] = []) -> [String] {
        RADIUSGatewayTests.login(user, password, extra: extra)
    }

    static let isPushLine: @Sendable (String) -> Bool = { $0.hasPrefix("push ") }

    @Test func approvedPushGivesAccessAccept() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let keystore = try await gateway.enrollDevice("bob")
            let device = try gateway.listen(keystore, "--approve", count: 1)
            defer { device.terminate() }

            let reply = try await gateway.radclient(timeout: 20).send(Self.login("bob", "pw"))
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            #expect(try await device.exitStatus() == 0)
            let shown = try #require(device.output.first(where: Self.isPushLine))
            #expect(shown.contains("user bob wants radius:local from 127.0.0.1"))
            #expect(try await gateway.events(.pushAttempt).count == 1)
            #expect(try await gateway.events(.pushApproved).count == 1)
            #expect(try await gateway.admin.user("bob").device?.lastUsed != nil)
        }
    }

    @Test func deniedPushGivesAccessReject() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--deny", count: 1)
            defer { device.terminate() }
            let reply = try await gateway.radclient(timeout: 20).send(Self.login("bob", "pw,push"))
            #expect(reply.code == "Access-Reject", "\(reply.output)")
            #expect(reply.value("Reply-Message") == "Push denied")
            #expect(try await gateway.events(.pushDenied).count == 1)
        }
    }

    @Test func unansweredPushTimesOut() async throws {
        try await TestGateway.with(push: PushSettings(timeoutSeconds: 2)) { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            _ = try await gateway.enrollDevice("bob")
            let reply = try await gateway.radclient(timeout: 20).send(Self.login("bob", "pw"))
            #expect(reply.code == "Access-Reject", "\(reply.output)")
            #expect(reply.value("Reply-Message") == "Push timed out")
            #expect(try await gateway.events(.pushTimeout).count == 1)
        }
    }

    /// radclient resends while the user looks at the phone: one push, one push event, one answer.
    @Test func retransmitsDuringAPendingPushSendNoSecondPush() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--ask", count: 1)
            defer { device.terminate() }
            // Line-buffered (stdbuf), so that each send shows as it happens. A resend a second, for as long as a slow
            // (sanitized) build may take to show the push.
            let radclient = try ChildProcess(
                "/usr/bin/stdbuf",
                [
                    "-oL", Radclient.path, "-x", "-4", "-r", "\(Int(TestTimeout.scaled(10)))", "-t", "1",
                    "127.0.0.1:\(gateway.ipv4Port)", "auth", TestGateway.secret,
                ])
            defer { radclient.terminate() }
            radclient.write(Self.login("bob", "pw").joined(separator: "\n") + "\n")
            try radclient.closeInput()

            #expect(await device.lines(where: Self.isPushLine) != nil)
            // At least three sends of the same request (the original and two retransmits) before the user answers;
            // more when the push took longer to show.
            #expect(await radclient.lines(where: { $0.hasPrefix("Sent Access-Request") }, count: 3) != nil, "\(radclient.output)")
            device.write("y\n")
            #expect(await radclient.lines(where: { $0.hasPrefix("Received Access-Accept") }) != nil, "\(radclient.output)")
            #expect(try await device.exitStatus() == 0)
            #expect(device.output.filter(Self.isPushLine).count == 1)
            #expect(try await gateway.events(.pushAttempt).count == 1)
            #expect(try await gateway.events(.radiusAuth).count == 1)
        }
    }

    /// A NAS that gives up on one Identifier and asks again with a new one: the same attempt (same client, user,
    /// Calling-Station-Id and password) waits on the same push rather than sending a second.
    @Test func theSameAttemptWithANewIdentifierJoinsThePendingPush() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--ask", count: 1)
            defer { device.terminate() }
            let secret = Array(TestGateway.secret.utf8)
            func request(_ identifier: UInt8) -> (bytes: [UInt8], authenticator: [UInt8]) {
                let authenticator = SecureRandom.bytes(16)
                let bytes = RADIUSPacket.encodeRequest(
                    code: .accessRequest, identifier: identifier, authenticator: authenticator,
                    attributes: [
                        RADIUSAttribute(type: .userName, string: "bob"),
                        RADIUSAttribute(
                            type: .userPassword,
                            value: RADIUSUserPassword.hide(Array("pw".utf8), secret: secret, requestAuthenticator: authenticator)),
                        RADIUSAttribute(type: .callingStationId, string: "02-00-00-00-00-01"),
                    ],
                    secret: secret)
                return (bytes, authenticator)
            }
            let client = try UDPTestClient(port: gateway.ipv4Port, receiveTimeout: 20)
            let first = request(1)
            client.send(first.bytes)
            #expect(await device.lines(where: Self.isPushLine) != nil)
            let second = request(2)
            client.send(second.bytes)
            await gateway.gateway.push.waitUntil { $0.waitingLogins.values.contains(2) }
            device.write("y\n")
            var identifiers: [UInt8] = []
            for _ in 0..<2 {
                let reply = try RADIUSPacket(decoding: try #require(await client.receive()))
                #expect(reply.code == .accessAccept)
                identifiers.append(reply.identifier)
            }
            #expect(identifiers.sorted() == [1, 2])
            #expect(device.output.filter(Self.isPushLine).count == 1)
            #expect(try await gateway.events(.pushAttempt).count == 1)
            #expect(try await gateway.events(.radiusAuth).count == 2)
        }
    }

    @Test func turningPushOffRefusesPushOnlyUsers() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            _ = try await gateway.enrollDevice("bob")
            #expect(try await gateway.admin.setPushProtection(enabled: false) == ["bob"])
            let reply = try await gateway.radclient().send(Self.login("bob", "pw"))
            #expect(reply.code == "Access-Reject")
            #expect(reply.value("Reply-Message") == "Push is not available for this account")
            #expect(try await gateway.events(.pushAttempt).isEmpty)
            _ = try await gateway.admin.setPushProtection(enabled: true)
        }
    }

    @Test func deviceOfflineWithTOTPGetsAChallengeInstead() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "pw")
            _ = try await gateway.enrollDevice("alice")
            let client = gateway.radclient()
            let challenge = try await client.send(Self.login("alice", "pw"))
            #expect(challenge.code == "Access-Challenge", "\(challenge.output)")
            // The appended code still means TOTP for a user with a device.
            #expect(try await client.send(Self.login("alice", "pw,\(gateway.code(secret))")).code == "Access-Accept")
            #expect(try await gateway.events(.pushAttempt).isEmpty)
        }
    }

    @Test func radiusAttemptsAreNotLimitedByDefault() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--approve", count: 2)
            defer { device.terminate() }
            let client = gateway.radclient(timeout: 20)
            async let first = client.send(Self.login("bob", "pw", extra: ["Calling-Station-Id = \"laptop\""]))
            async let second = client.send(Self.login("bob", "pw", extra: ["Calling-Station-Id = \"phone\""]))
            #expect(try await first.code == "Access-Accept")
            #expect(try await second.code == "Access-Accept")
            #expect(try await gateway.events(.pushAttempt).count == 2)
            #expect(try await gateway.events(.pushAttemptFailed).isEmpty)
        }
    }

    @Test func statusServerIsAnsweredWhile100PushesArePending() async throws {
        try await TestGateway.with { gateway in
            let secret = Array(TestGateway.secret.utf8)
            let client = try UDPTestClient(port: gateway.ipv4Port)
            for index in 0..<100 {
                let user = "user\(index)"
                try await gateway.addUser(user, password: "pw", totp: false)
                try await gateway.gateway.store.addDevice(
                    EnrolledDevice(
                        id: "device-\(index)", username: user, publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey),
                        name: "phone", platform: "test", enrolledAt: Date()))
                let authenticator = SecureRandom.bytes(16)
                client.send(
                    RADIUSPacket.encodeRequest(
                        code: .accessRequest, identifier: UInt8(index), authenticator: authenticator,
                        attributes: [
                            RADIUSAttribute(type: .userName, string: user),
                            RADIUSAttribute(
                                type: .userPassword,
                                value: RADIUSUserPassword.hide(Array("pw".utf8), secret: secret, requestAuthenticator: authenticator)),
                        ],
                        secret: secret))
            }
            await gateway.gateway.push.waitUntil { $0.pendingCount == 100 }
            let status = try await gateway.radclient().send(["Message-Authenticator = 0x00"], command: "status")
            #expect(status.code == "Access-Accept", "\(status.output)")
            // Shutting down answers every waiting login with a reject.
            await gateway.gateway.shutdown()
            var rejects = 0
            while let reply = try await client.receive() {
                if try RADIUSPacket(decoding: reply).code == .accessReject { rejects += 1 }
                if rejects == 100 { break }
            }
            #expect(rejects == 100)
        }
    }

    @Test func theAuthAPILimitsConcurrentPushes() async throws {
        let portal = AuthAPIResource(name: "portal", apiKey: "portal-key-0123456789")
        try await TestGateway.with(resources: [portal]) { gateway in
            try await gateway.addUser("carol", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("carol"), "--ask", count: 2)
            defer { device.terminate() }
            let api = AuthAPIClient(port: gateway.httpPort, key: portal.apiKey)

            let first = Task { try await api.authenticate("carol") }
            #expect(await device.lines(where: Self.isPushLine) != nil)
            let second = try await api.authenticate("carol")
            #expect(second.status == 429)
            #expect(second.body.reason == "too many concurrent push requests")
            let failed = try await gateway.events(.pushAttemptFailed)
            #expect(failed.count == 1 && failed[0].error == "too many concurrent push requests")

            device.write("y\n")
            let answered = try await first.value
            #expect(answered.status == 200 && answered.body.result == "allow")

            // Answered: the next attempt is pushed again.
            let third = Task { try await api.authenticate("carol") }
            #expect(await device.lines(where: Self.isPushLine, count: 2) != nil)
            device.write("n\n")
            let denied = try await third.value
            #expect(denied.status == 403 && denied.body.result == "deny")

            #expect(try await api.authenticate("carol", key: "wrong-key").status == 401)
        }
    }

    @Test func enrollmentCodesWorkOnceAndOneDevicePerUser() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let uri = try await gateway.admin.enrollDevice("bob").uri
            let device = ChildProcess.builtProduct("countersign-device")
            let first = try ChildProcess(device, ["enroll", uri, "--keystore", gateway.directory + "/one.json"])
            #expect(try await first.exitStatus() == 0, "\(first.output)")
            let again = try ChildProcess(device, ["enroll", uri, "--keystore", gateway.directory + "/two.json"])
            #expect(try await again.exitStatus() != 0)
            await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await gateway.admin.enrollDevice("bob") }
            try await gateway.admin.deleteDevice("bob")
            _ = try await gateway.admin.enrollDevice("bob")
        }
    }
}

/// `POST /v1/auth` as a web portal would call it.
struct AuthAPIClient {
    var port: Int
    var key: String

    func authenticate(_ user: String, key: String? = nil) async throws -> (status: Int, body: AuthResponse) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(DeviceAPI.authPath)")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(key ?? self.key)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONEncoder().encode(AuthRequest(user: user, clientAddress: "198.51.100.7"))
        request.timeoutInterval = TestTimeout.scaled(60)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try JSONDecoder().decode(AuthResponse.self, from: data))
    }
}
