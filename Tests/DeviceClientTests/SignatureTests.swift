import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import DeviceClient

@Suite struct SignatureTests {
    let server = P256.Signing.PrivateKey()
    var serverPublic: String { DeviceCrypto.encode(server.publicKey) }

    @Test func genuinePushVerifies() throws {
        let push = try Fixture.push(serverKey: server)
        #expect(DeviceCrypto.verify(push.signature, of: SignedMessage.pushRequest(push), publicKey: serverPublic))
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: "dev-1") == nil)
    }

    @Test(arguments: 0..<9)
    func changedFieldFailsVerification(_ field: Int) throws {
        var push = try Fixture.push(serverKey: server)
        switch field {
        case 0: push.id = "p2"
        case 1: push.deviceID = "dev-2"
        case 2: push.user = "mallory"
        case 3: push.resourceKind = "web"
        case 4: push.resourceName = "admin"
        case 5: push.clientAddress = "198.51.100.1"
        case 6: push.created += 1
        case 7: push.expires += 3600
        default: push.nonce = Data(repeating: 0, count: 16).base64EncodedString()
        }
        #expect(!DeviceCrypto.verify(push.signature, of: SignedMessage.pushRequest(push), publicKey: serverPublic))
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: push.deviceID) == .badSignature)
    }

    /// The Calling-Station-Id is a tenth signed field when present: altered, dropped or added, the signature fails.
    @Test func theCallingStationIDIsSigned() throws {
        var push = try Fixture.push(serverKey: server)
        push.callingStationID = "02-00-5e-10-00-01"
        push.signature = try DeviceCrypto.sign(SignedMessage.pushRequest(push), with: server)
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: "dev-1") == nil)
        #expect(PushListener.describe(push).hasSuffix(", station 02-00-5e-10-00-01"))
        let decoded = try JSONDecoder().decode(PushMessage.self, from: try JSONEncoder().encode(push))
        #expect(decoded.callingStationID == "02-00-5e-10-00-01")
        for station in ["02-00-5e-10-00-02", nil, ""] {
            var changed = push
            changed.callingStationID = station
            #expect(PushListener.check(changed, serverPublicKey: serverPublic, deviceID: "dev-1") == .badSignature)
        }
        let plain = try Fixture.push(serverKey: server)
        var added = plain
        added.callingStationID = ""
        #expect(PushListener.check(added, serverPublicKey: serverPublic, deviceID: "dev-1") == .badSignature)
        // Without a station, the JSON has no such key (what older devices know).
        #expect(!String(decoding: try JSONEncoder().encode(plain), as: UTF8.self).contains("calling_station_id"))
    }

    @Test func pushSignedByAnotherKeyFails() throws {
        let push = try Fixture.push(serverKey: P256.Signing.PrivateKey())
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: "dev-1") == .badSignature)
        var unsigned = push
        unsigned.signature = ""
        #expect(PushListener.check(unsigned, serverPublicKey: serverPublic, deviceID: "dev-1") == .badSignature)
    }

    @Test func genuinePushForAnotherDeviceIsRejected() throws {
        let push = try Fixture.push(deviceID: "dev-2", serverKey: server)
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: "dev-1") == .otherDevice("dev-2"))
    }

    @Test func genuinePushWithAPathLikeIDIsRejected() throws {
        let push = try Fixture.push(id: "../../enroll", serverKey: server)
        #expect(PushListener.check(push, serverPublicKey: serverPublic, deviceID: "dev-1") == .unsafeID)
    }

    @Test func authHeadersSignTheMethodAndPathWithoutQuery() throws {
        let device = P256.Signing.PrivateKey()
        let client = DeviceAPIClient(
            baseURL: URL(string: "https://mfa.example.com")!, deviceID: "dev-1", key: device,
            transport: FakeTransport { _, _ in HTTPResponse(status: 500) }, now: { Date(timeIntervalSince1970: 1_700_000_123.9) })
        let headers = try client.authHeaders(method: "GET", path: DeviceAPI.pushesPath)
        #expect(headers[DeviceAPI.deviceHeader] == "dev-1")
        #expect(headers[DeviceAPI.timestampHeader] == "1700000123")
        let signature = try #require(headers[DeviceAPI.signatureHeader])
        let devicePublic = DeviceCrypto.encode(device.publicKey)
        let message = SignedMessage.deviceAuth(deviceID: "dev-1", timestamp: 1_700_000_123, method: "GET", path: "/v1/device/pushes")
        #expect(DeviceCrypto.verify(signature, of: message, publicKey: devicePublic))
        let withQuery = SignedMessage.deviceAuth(deviceID: "dev-1", timestamp: 1_700_000_123, method: "GET", path: "/v1/device/pushes?wait=25")
        #expect(!DeviceCrypto.verify(signature, of: withQuery, publicKey: devicePublic))
        let otherTime = SignedMessage.deviceAuth(deviceID: "dev-1", timestamp: 1_700_000_124, method: "GET", path: "/v1/device/pushes")
        #expect(!DeviceCrypto.verify(signature, of: otherTime, publicKey: devicePublic))
    }

    @Test func fetchSendsTheWaitQueryButSignsThePathAlone() async throws {
        let device = P256.Signing.PrivateKey()
        let transport = FakeTransport { _, _ in try Fixture.json(PushList(pushes: [])) }
        let client = DeviceAPIClient(
            baseURL: URL(string: "https://mfa.example.com/")!, deviceID: "dev-1", key: device, transport: transport,
            now: { Date(timeIntervalSince1970: 1_700_000_000) })
        _ = try await client.fetchPushes(wait: 25)
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.url.absoluteString == "https://mfa.example.com/v1/device/pushes?wait=25")
        let message = SignedMessage.deviceAuth(deviceID: "dev-1", timestamp: 1_700_000_000, method: "GET", path: DeviceAPI.pushesPath)
        #expect(DeviceCrypto.verify(request.headers[DeviceAPI.signatureHeader] ?? "", of: message, publicKey: DeviceCrypto.encode(device.publicKey)))
    }

    @Test(arguments: [PushDecision.approve, .deny])
    func answerSignatureVerifies(_ decision: PushDecision) throws {
        let device = P256.Signing.PrivateKey()
        let push = try Fixture.push(serverKey: server)
        let client = DeviceAPIClient(
            baseURL: URL(string: "https://mfa.example.com")!, deviceID: "dev-1", key: device,
            transport: FakeTransport { _, _ in HTTPResponse(status: 500) })
        let answer = try client.answerBody(for: push, decision: decision)
        #expect(answer.decision == decision)
        let devicePublic = DeviceCrypto.encode(device.publicKey)
        #expect(DeviceCrypto.verify(answer.signature, of: SignedMessage.pushAnswer(pushID: push.id, nonce: push.nonce, decision: decision, deviceID: "dev-1"), publicKey: devicePublic))
        let flipped: PushDecision = decision == .approve ? .deny : .approve
        #expect(!DeviceCrypto.verify(answer.signature, of: SignedMessage.pushAnswer(pushID: push.id, nonce: push.nonce, decision: flipped, deviceID: "dev-1"), publicKey: devicePublic))
    }

    @Test func askReplies() {
        #expect(PushDecisionParser.parse("y") == .approve)
        #expect(PushDecisionParser.parse(" YES ") == .approve)
        #expect(PushDecisionParser.parse("") == .deny)
        #expect(PushDecisionParser.parse("n") == .deny)
        #expect(PushDecisionParser.parse("yep") == .deny)
        #expect(PushDecisionParser.parse(nil) == .deny)
    }

    @Test func pushLineFormatAndEscaping() throws {
        var push = try Fixture.push(serverKey: server, created: 1_700_000_000)
        #expect(PushListener.describe(push) == "push p1: user alice wants radius:vpn from 203.0.113.7 at 2023-11-14T22:13:20Z")
        push.user = "eve\nanswered p1: approve (200)"
        #expect(!PushListener.describe(push).contains("\n"))
    }
}
