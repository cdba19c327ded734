import CountersignConfig
import Foundation
import Hummingbird
import Logging
import MFACore
import Testing

/// `[[push.notify]]`: a local HTTP receiver gets the JSON of each new push, and a receiver that never answers, a
/// listener that takes the connection and never reads it, or a port where nothing listens does not hold up the login.
@Suite struct WebhookTests {
    /// A TCP port that accepts connections (the kernel completes them into the backlog) and never reads or answers.
    final class SilentListener {
        let descriptor: Int32
        let port: Int

        init() throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    bind(descriptor, address, length) == 0 && listen(descriptor, 16) == 0
                        && getsockname(descriptor, address, &length) == 0
                }
            }
            guard descriptor >= 0, bound else {
                if descriptor >= 0 { close(descriptor) }
                throw POSIXError(.EADDRNOTAVAIL)
            }
            self.descriptor = descriptor
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(descriptor) }
    }

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
        let silent = try SilentListener()
        let notify = [
            PushWebhook(url: "http://127.0.0.1:\(port)/slow"),
            PushWebhook(url: "http://127.0.0.1:\(silent.port)/never-read"),
            PushWebhook(url: "http://127.0.0.1:\(dead)/nobody-listens"),
            PushWebhook(url: "http://127.0.0.1:\(port)/hook", headers: ["X-Token": "token-1", "Title": "Countersign"]),
        ]
        try await TestGateway.with(push: PushSettings(notify: notify), publicURL: "https://mfa.example.com") { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let device = try gateway.listen(try await gateway.enrollDevice("bob"), "--approve", count: 1)
            defer { device.terminate() }

            // One try within a NAS's deadline (5 s), which is also the webhooks' own timeout: a login that waited
            // for the receiver that never answers, or for the listener that never reads, would get no reply in time.
            let reply = try await gateway.radclient(timeout: 5).send(PushGatewayTests.login("bob", "pw"))
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
        withExtendedLifetime(silent) {}
    }
}
