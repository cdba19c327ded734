import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import DeviceClient

@Suite struct EnrollmentTests {
    let fp = String(repeating: "ab", count: 32)

    @Test func parsesAGoodURI() throws {
        let uri = try Enrollment.parseURI("countersign://enroll?url=https://mfa.example.com:8443/&code=ABCD-1234&fp=\(fp)")
        #expect(uri.serverURL == "https://mfa.example.com:8443/")
        #expect(uri.code == "ABCD-1234")
        #expect(uri.fingerprint == fp)
        // What the server builds parses back.
        let built = EnrollmentURI(serverURL: "http://127.0.0.1:8080", code: "a+b c&d", fingerprint: fp)
        #expect(try Enrollment.parseURI(built.uri) == built)
    }

    @Test func parsesALink() throws {
        let link = try Enrollment.parseURI("https://mfa.example.com:8443/authenticator#code=ABCD-1234&fp=\(fp)\n")
        #expect(link == EnrollmentURI(serverURL: "https://mfa.example.com:8443", code: "ABCD-1234", fingerprint: fp))
        // A public URL with a path prefix keeps it.
        let prefixed = try Enrollment.parseURI("https://mfa.example.com/countersign/authenticator#fp=\(fp)&code=C")
        #expect(prefixed.serverURL == "https://mfa.example.com/countersign")
        #expect(prefixed.code == "C")
    }

    @Test func theLinkAndTheURICarryTheSameEnrollment() throws {
        let enrollment = EnrollmentURI(serverURL: "https://mfa.example.com/", code: "a+b c&d=é", fingerprint: fp)
        #expect(enrollment.link.hasPrefix("https://mfa.example.com/authenticator#code=a%2Bb%20c%26d%3D%C3%A9&fp="))
        let fromLink = try Enrollment.parseURI(enrollment.link)
        let fromURI = try Enrollment.parseURI(enrollment.uri)
        #expect(fromLink.code == enrollment.code)
        #expect(fromLink.fingerprint == fp)
        #expect(fromLink.serverURL == "https://mfa.example.com")
        #expect(fromURI.code == fromLink.code)
        #expect(fromURI.fingerprint == fromLink.fingerprint)
    }

    @Test(arguments: [
        "https://mfa.example.com/authenticator",
        "https://mfa.example.com/authenticator#",
        "https://mfa.example.com/authenticator#code=c",
        "https://mfa.example.com/authenticator#fp=FP",
        "https://mfa.example.com/authenticator#code=&fp=FP",
        "https://mfa.example.com/authenticator#code&fp=FP",
        "https://mfa.example.com/other#code=c&fp=FP",
        "https://mfa.example.com/authenticator?code=c&fp=FP",
        "https://mfa.example.com/authenticator?x=1#code=c&fp=FP",
        "ftp://mfa.example.com/authenticator#code=c&fp=FP",
        "https:///authenticator#code=c&fp=FP",
        "https://mfa.example.com/authenticator#code=c&fp=1234",
    ])
    func rejectsBadLinks(_ text: String) {
        let text = text.replacingOccurrences(of: "FP", with: fp)
        #expect(throws: DeviceClientError.self) { try Enrollment.parseURI(text) }
    }

    @Test func enrollsWithALink() async throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = P256.Signing.PrivateKey()
        let transport = FakeTransport { _, _ in
            try Fixture.json(
                EnrollmentResponse(deviceID: "dev-9", user: "alice", serverPublicKey: DeviceCrypto.encode(server.publicKey)),
                status: 201)
        }
        let link = EnrollmentURI(
            serverURL: "https://mfa.example.com/mfa", code: "ABCD-1234",
            fingerprint: DeviceCrypto.fingerprint(of: DeviceCrypto.encode(server.publicKey))!
        ).link
        let keystore = try await Enrollment.enroll(uriText: link, keystorePath: dir + "/k.json", transport: transport)
        #expect(keystore.serverURL == "https://mfa.example.com/mfa")
        let request = try #require(transport.requests.first)
        #expect(request.url.absoluteString == "https://mfa.example.com/mfa/v1/device/enroll")
        #expect(try JSONDecoder().decode(EnrollmentRequest.self, from: request.body ?? Data()).code == "ABCD-1234")
    }

    @Test(arguments: [
        "",
        "not a uri",
        "https://enroll?url=https://mfa.example.com&code=c&fp=FP",
        "countersign://other?url=https://mfa.example.com&code=c&fp=FP",
        "countersign://enroll?code=c&fp=FP",
        "countersign://enroll?url=https://mfa.example.com&fp=FP",
        "countersign://enroll?url=https://mfa.example.com&code=c",
        "countersign://enroll?url=https://mfa.example.com&code=&fp=FP",
        "countersign://enroll?url=ftp://mfa.example.com&code=c&fp=FP",
        "countersign://enroll?url=mfa.example.com&code=c&fp=FP",
        "countersign://enroll?url=https://mfa.example.com&code=c&fp=1234",
        "countersign://enroll?url=https://mfa.example.com&code=c&fp=" + String(repeating: "zz", count: 32),
    ])
    func rejectsBadURIs(_ text: String) {
        let text = text.replacingOccurrences(of: "FP", with: fp)
        #expect(throws: DeviceClientError.self) { try Enrollment.parseURI(text) }
    }

    @Test func fingerprintCheck() throws {
        let server = P256.Signing.PrivateKey()
        let encoded = DeviceCrypto.encode(server.publicKey)
        let good = DeviceCrypto.fingerprint(of: encoded)!
        try Enrollment.checkServerKey(encoded, expectedFingerprint: good)
        try Enrollment.checkServerKey(encoded, expectedFingerprint: good.uppercased())

        let other = DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey)
        #expect(throws: DeviceClientError.fingerprintMismatch(expected: good, actual: DeviceCrypto.fingerprint(of: other)!)) {
            try Enrollment.checkServerKey(other, expectedFingerprint: good)
        }
        #expect(throws: DeviceClientError.invalidServerKey) { try Enrollment.checkServerKey("garbage", expectedFingerprint: good) }
    }

    @Test func enrollSavesKeystoreWhenTheServerKeyMatches() async throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/cfg/keystore.json"
        let server = P256.Signing.PrivateKey()
        let device = P256.Signing.PrivateKey()
        let transport = FakeTransport { request, _ in
            try Fixture.json(
                EnrollmentResponse(deviceID: "dev-9", user: "alice", serverPublicKey: DeviceCrypto.encode(server.publicKey)),
                status: 201)
        }
        let keystore = try await Enrollment.enroll(
            uriText: Fixture.uri(server: "https://mfa.example.com/", serverKey: server), keystorePath: path, name: "laptop",
            transport: transport, key: device)
        #expect(keystore.deviceID == "dev-9")
        #expect(try DeviceKeystore.load(from: path) == keystore)
        #expect(try Fixture.mode(of: path) == 0o600)

        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "https://mfa.example.com/v1/device/enroll")
        let body = try JSONDecoder().decode(EnrollmentRequest.self, from: request.body ?? Data())
        #expect(body == EnrollmentRequest(code: "ABCD-1234", publicKey: DeviceCrypto.encode(device.publicKey), name: "laptop", platform: Enrollment.platform))
    }

    @Test func enrollRefusesAMismatchingServerKeyAndSavesNothing() async throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keystore.json"
        let pinned = P256.Signing.PrivateKey()
        let impostor = P256.Signing.PrivateKey()
        let transport = FakeTransport { _, _ in
            try Fixture.json(EnrollmentResponse(deviceID: "dev-9", user: "alice", serverPublicKey: DeviceCrypto.encode(impostor.publicKey)))
        }
        await #expect(throws: DeviceClientError.self) {
            try await Enrollment.enroll(uriText: Fixture.uri(serverKey: pinned), keystorePath: path, transport: transport)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func enrollRefusesAnExistingKeystoreBeforeSpendingTheCode() async throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keystore.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: path))
        let transport = FakeTransport { _, _ in HTTPResponse(status: 500) }
        await #expect(throws: DeviceClientError.keystoreExists(path: path)) {
            try await Enrollment.enroll(uriText: Fixture.uri(serverKey: P256.Signing.PrivateKey()), keystorePath: path, transport: transport)
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func enrollReportsAServerRefusal() async throws {
        let dir = try Fixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let transport = FakeTransport { _, _ in try Fixture.json(DeviceAPIError.refused, status: 403) }
        await #expect(throws: DeviceClientError.enrollmentFailed(status: 403, message: "refused")) {
            try await Enrollment.enroll(
                uriText: Fixture.uri(serverKey: P256.Signing.PrivateKey()), keystorePath: dir + "/k.json", transport: transport)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/k.json"))
    }
}
