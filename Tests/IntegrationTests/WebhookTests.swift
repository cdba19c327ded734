import CountersignConfig
import Foundation
import Hummingbird
import Logging
import MFACore
import Testing

/// `[[push.notify]]`: a local HTTP receiver gets the JSON of each new push, and a receiver that never answers or
/// a port where nothing listens does not hold up the login.
@Suite struct WebhookTests {
    /// A Hummingbird server on 127.0.0.1, port 0: `/hook` records each POST; `/slow` records it and answers only when
    /// the test releases it.
    final class Receiver: Sendable {
        let received = Locked<[(headers: [String: String], body: Data)]>([])
        private let arrivals: AsyncStream<String>
        private let arrived: AsyncStream<String>.Continuation
        private let release = Locked<[CheckedContinuation<Void, Never>]?>([])
        private let ports: AsyncStream<Int>
        private let bound: AsyncStream<Int>.Continuation

        init() {
            (arrivals, arrived) = AsyncStream.makeStream()
            (ports, bound) = AsyncStream.makeStream()
        }

        /// The port, once the server runs.
        func port() async throws -> Int {
            for await port in ports { return port }
            throw CancellationError()
        }

        func application() -> some ApplicationProtocol {
            let router = Router()
            router.post("/hook") { request, _ in
                let body = try await request.body.collect(upTo: 1 << 16)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                self.received.withLock { $0.append((headers, Data(buffer: body))) }
                self.arrived.yield("hook")
                return Response(status: .noContent)
            }
            router.post("/slow") { _, _ in
                self.arrived.yield("slow")
                await withCheckedContinuation { continuation in
                    let released = self.release.withLock { waiting -> Bool in
                        guard waiting != nil else { return true }
                        waiting!.append(continuation)
                        return false
                    }
                    if released { continuation.resume() }
                }
                return Response(status: .noContent)
            }
            return Application(
                router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in self.bound.yield(channel.localAddress?.port ?? 0) },
                logger: Logger(label: "webhook-receiver"))
        }

        /// Waits until both routes have been called once.
        func bothArrived() async {
            var seen = Set<String>()
            for await name in arrivals {
                seen.insert(name)
                if seen == ["hook", "slow"] { return }
            }
        }

        func releaseSlow() {
            for continuation in release.withLock({ waiting in defer { waiting = nil }; return waiting ?? [] }) { continuation.resume() }
        }
    }

    @Test func eachNewPushIsPostedAndASlowOrDeadReceiverDoesNotDelayTheLogin() async throws {
        let receiver = Receiver()
        let application = receiver.application()
        let serving = Task { try await application.runService(gracefulShutdownSignals: []) }
        defer { serving.cancel() }
        let port = try await receiver.port()
        let dead = try ServeProcessTests.Installation.freePort()
        let notify = [
            PushWebhook(url: "http://127.0.0.1:\(port)/slow"),
            PushWebhook(url: "http://127.0.0.1:\(dead)/nobody-listens"),
            PushWebhook(url: "http://127.0.0.1:\(port)/hook", headers: ["X-Token": "token-1", "Title": "Countersign"]),
        ]
        try await TestGateway.with(push: PushSettings(notify: notify), publicURL: "https://mfa.example.com") { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--approve", count: 1)
            defer { device.terminate() }

            let reply = try await gateway.radclient(timeout: 20).send(PushGatewayTests.login("bob", "pw"))
            // The slow receiver has not answered yet (it answers only when released below): the login did not wait.
            #expect(reply.code == "Access-Accept", "\(reply.output)")
            await receiver.bothArrived()
            receiver.releaseSlow()

            let (headers, body) = try #require(receiver.received.withLock { $0.first })
            #expect(headers["x-token"] == "token-1" && headers["title"] == "Countersign")
            #expect(headers["content-type"] == "application/json")
            let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: String])
            #expect(json["event"] == "push" && json["user"] == "bob" && json["resource"] == "radius:local")
            #expect(json["link"] == "https://mfa.example.com/authenticator")
            #expect(json["message"]?.contains("bob") == true)
            // Nothing that could answer the push.
            #expect(Set(json.keys) == ["event", "user", "resource", "link", "message", "time"])
            let pushID = try #require(try await gateway.events(.pushAttempt).first?.details["push_id"])
            #expect(!String(decoding: body, as: UTF8.self).contains(pushID))
        }
        receiver.releaseSlow()
    }
}
