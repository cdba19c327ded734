import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import DeviceClient

@Suite struct PushListenerTests {
    let server = P256.Signing.PrivateKey()
    let device = P256.Signing.PrivateKey()

    func listener(
        _ transport: FakeTransport, count: Int?, out: Lines, err: Lines, maxFailures: Int? = 60,
        decide: @escaping PushListener.Decide = { _ in .approve }
    ) -> PushListener {
        let client = DeviceAPIClient(baseURL: URL(string: "https://mfa.example.com")!, deviceID: "dev-1", key: device, transport: transport)
        return PushListener(
            client: client, serverPublicKey: DeviceCrypto.encode(server.publicKey),
            options: .init(count: count, retryDelay: .milliseconds(1), maxConsecutiveFailures: maxFailures), decide: decide,
            output: out.append, warn: err.append, sleep: { _ in })
    }

    @Test func answersGenuinePushesAndIgnoresForgedOnes() async throws {
        let genuine = try Fixture.push(id: "p1", serverKey: server)
        let forged = try Fixture.push(id: "p2", serverKey: P256.Signing.PrivateKey())
        let elsewhere = try Fixture.push(id: "p3", deviceID: "dev-2", serverKey: server)
        let second = try Fixture.push(id: "p4", serverKey: server)
        let transport = FakeTransport { request, index in
            if request.method == "POST" { return HTTPResponse(status: 200) }
            // The first poll returns p1 (and junk); the next one still returns p1, its answer not having landed.
            return try Fixture.json(PushList(pushes: index == 0 ? [genuine, forged, elsewhere] : [genuine, forged, second]))
        }
        let out = Lines(), err = Lines()
        let decided = Lines()
        let answered = try await listener(transport, count: 2, out: out, err: err) { push in
            decided.append(push.id)
            return push.id == "p1" ? .approve : .deny
        }.run()
        #expect(answered == 2)
        #expect(decided.lines == ["p1", "p4"])
        #expect(out.lines.count == 4)
        #expect(out.lines[0].hasPrefix("push p1: user alice wants radius:vpn from 203.0.113.7 at "))
        #expect(out.lines[1] == "answered p1: approve (200)")
        #expect(out.lines[2].hasPrefix("push p4: "))
        #expect(out.lines[3] == "answered p4: deny (200)")
        #expect(!out.lines.joined().contains("p2") && !out.lines.joined().contains("p3"))
        #expect(err.lines.count == 2)  // one warning each for p2 and p3, not one per poll

        let posts = transport.requests.filter { $0.method == "POST" }
        #expect(posts.map(\.url.path) == ["/v1/device/pushes/p1/answer", "/v1/device/pushes/p4/answer"])
        let devicePublic = DeviceCrypto.encode(device.publicKey)
        for (post, push, decision) in zip(zip(posts, [genuine, second]), [PushDecision.approve, .deny]).map({ ($0.0, $0.1, $1) }) {
            let body = try JSONDecoder().decode(PushAnswer.self, from: post.body ?? Data())
            #expect(body.decision == decision)
            let answerMessage = SignedMessage.pushAnswer(pushID: push.id, nonce: push.nonce, decision: decision, deviceID: "dev-1")
            #expect(DeviceCrypto.verify(body.signature, of: answerMessage, publicKey: devicePublic))
            let timestamp = Int64(post.headers[DeviceAPI.timestampHeader] ?? "") ?? 0
            let authMessage = SignedMessage.deviceAuth(deviceID: "dev-1", timestamp: timestamp, method: "POST", path: post.url.path)
            #expect(DeviceCrypto.verify(post.headers[DeviceAPI.signatureHeader] ?? "", of: authMessage, publicKey: devicePublic))
        }
    }

    @Test func retriesConnectionErrorsAndServerErrorsWithoutAskingTwice() async throws {
        let push = try Fixture.push(serverKey: server)
        let transport = FakeTransport { request, index in
            switch index {
            case 0: throw FakeConnectionError()
            case 1: return HTTPResponse(status: 503)
            case 2: return try Fixture.json(PushList(pushes: [push]))
            case 3: return HTTPResponse(status: 502)  // the answer fails: poll again, re-send the same decision
            case 4: return try Fixture.json(PushList(pushes: [push]))
            default: return HTTPResponse(status: request.method == "POST" ? 204 : 500)
            }
        }
        let out = Lines(), err = Lines(), asked = Lines()
        try await listener(transport, count: 1, out: out, err: err) { push in
            asked.append(push.id)
            return .deny
        }.run()
        #expect(asked.lines == ["p1"])
        #expect(out.lines.last == "answered p1: deny (204)")
        #expect(err.lines.count == 3)
    }

    @Test func refusalEndsTheLoop() async throws {
        let transport = FakeTransport { _, _ in try Fixture.json(DeviceAPIError.refused, status: 401) }
        let out = Lines(), err = Lines()
        await #expect(throws: DeviceClientError.refused(status: 401)) {
            try await listener(transport, count: nil, out: out, err: err).run()
        }
        #expect(transport.requests.count == 1)
    }

    @Test func refusedAnswerEndsTheLoop() async throws {
        let push = try Fixture.push(serverKey: server)
        let transport = FakeTransport { request, _ in
            request.method == "POST" ? HTTPResponse(status: 403) : try Fixture.json(PushList(pushes: [push]))
        }
        await #expect(throws: DeviceClientError.refused(status: 403)) {
            try await listener(transport, count: nil, out: Lines(), err: Lines()).run()
        }
    }

    @Test func givesUpAfterBoundedFailures() async throws {
        let transport = FakeTransport { _, _ in throw FakeConnectionError() }
        await #expect(throws: DeviceClientError.self) {
            try await listener(transport, count: nil, out: Lines(), err: Lines(), maxFailures: 3).run()
        }
        #expect(transport.requests.count == 3)
    }
}
