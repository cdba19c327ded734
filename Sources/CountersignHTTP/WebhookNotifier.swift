import AsyncHTTPClient
import CountersignConfig
import Foundation
import Logging
import MFACore
import NIOCore
import ServiceLifecycle

/// `[[push.notify]]`: for each new push, a POST of JSON to every webhook, sent on its own task with a short timeout,
/// so that a slow or dead receiver never delays a login. The body names the user and the resource and links to the
/// web authenticator; it carries no push id, nonce or code, nothing that could answer the push.
public final class WebhookNotifier: PushNotifier, Service {
    /// The whole exchange, connect to last byte.
    static let timeout: TimeAmount = .seconds(5)
    /// Posts under way at once; beyond it a nudge is skipped (and logged) rather than queued behind a dead receiver.
    static let maximumInFlight = 64

    struct Payload: Encodable {
        var event = "push"
        var user: String
        var resource: String
        var link: String
        var message: String
        var time: String
    }

    private let webhooks: [PushWebhook]
    private let link: String
    private let client: HTTPClient
    private let inFlight = Locked(0)
    private let clock: any WallClock
    private let logger: Logger

    public init(webhooks: [PushWebhook], publicURL: String, clock: any WallClock, logger: Logger) {
        self.webhooks = webhooks
        self.link = publicURL + "/authenticator"
        self.clock = clock
        self.logger = logger
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: Self.timeout, read: Self.timeout))
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func pushCreated(user: String, resource: Resource) {
        let time = ISO8601DateFormatter().string(from: clock.now())
        let payload = Payload(
            user: user, resource: resource.description, link: link,
            message: "Sign-in request for \(user) to \(resource.description): open \(link) to approve or deny", time: time)
        guard let body = try? JSONEncoder().encode(payload) else { return }
        for (index, webhook) in webhooks.enumerated() {
            guard begin() else {
                logger.warning("push webhook skipped: too many under way", metadata: ["webhook": "\(index)"])
                continue
            }
            Task {
                defer { self.end() }
                await self.post(body, to: webhook, index: index)
            }
        }
    }

    private func post(_ body: Data, to webhook: PushWebhook, index: Int) async {
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "countersign")
        for (name, value) in webhook.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        // The URL and headers may hold a token: logs name the webhook by its index and host only.
        let host = URLComponents(string: webhook.url)?.host ?? "?"
        do {
            let response = try await client.execute(request, timeout: Self.timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if !(200..<300).contains(response.status.code) {
                logger.warning(
                    "push webhook refused", metadata: ["webhook": "\(index)", "host": "\(host)", "status": "\(response.status.code)"])
            }
        } catch {
            logger.warning("push webhook failed", metadata: ["webhook": "\(index)", "host": "\(host)", "error": "\(error)"])
        }
    }

    private func begin() -> Bool {
        inFlight.withLock { count in
            guard count < Self.maximumInFlight else { return false }
            count += 1
            return true
        }
    }

    private func end() { inFlight.withLock { $0 -= 1 } }

    /// Holds the client until shutdown, then ends it (posts still under way fail).
    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
