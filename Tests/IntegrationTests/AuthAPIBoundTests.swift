import CountersignConfig
import DeviceProtocol
import Foundation
import Hummingbird
import Logging
import MFACore
import Testing

@testable import CountersignHTTP

/// `POST /v1/auth` bounds each resource's calls under way (each may wait a whole push): past the bound a call is
/// answered 503 at once and counted as an `overloaded` drop, and another resource's calls are not held back.
@Suite struct AuthAPIBoundTests {
    /// Holds every decision until released; tells of each arrival.
    final class HeldAuthenticator: LoginAuthenticator {
        /// The resource of each decision as it begins.
        let arrivals: AsyncStream<String>
        private let arrived: AsyncStream<String>.Continuation
        private let waiting = Locked<[CheckedContinuation<Void, Never>]?>([])

        init() { (arrivals, arrived) = AsyncStream.makeStream() }

        func authenticate(_ attempt: LoginAttempt) async -> Verdict {
            arrived.yield(attempt.resource.name)
            await withCheckedContinuation { continuation in
                let released = waiting.withLock { waiting -> Bool in
                    guard waiting != nil else { return true }
                    waiting!.append(continuation)
                    return false
                }
                if released { continuation.resume() }
            }
            return .accept(Grant())
        }

        func release() {
            for continuation in waiting.withLock({ waiting in defer { waiting = nil }; return waiting ?? [] }) { continuation.resume() }
        }
    }

    static let portalKey = "portal-key-0123456789"
    static let wikiKey = "wiki-key-0123456789ab"

    @Test func pastItsBoundAResourcesCallIsRefusedAtOnceAndOthersGoOn() async throws {
        let authenticator = HeldAuthenticator()
        let drops = DropReport(logger: Logger(label: "drops"))
        let routes = AuthAPIRoutes(
            resources: [AuthAPIResource(name: "portal", apiKey: Self.portalKey), AuthAPIResource(name: "wiki", apiKey: Self.wikiKey)],
            authenticator: authenticator, inFlight: AuthAPIRoutes.InFlight(maximumPerResource: 2), drops: drops)
        let router = Router(context: CountersignRequestContext.self)
        routes.register(on: router)
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { bound.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "auth-api"))
        let serving = Task { try await application.runService(gracefulShutdownSignals: []) }
        defer {
            authenticator.release()
            serving.cancel()
        }
        var port = 0
        for await first in ports { port = first; break }
        let portal = AuthAPIClient(port: port, key: Self.portalKey)
        let wiki = AuthAPIClient(port: port, key: Self.wikiKey)

        var arrived = authenticator.arrivals.makeAsyncIterator()

        // Two portal calls take the portal's two places and wait for their decisions.
        let held = (0..<2).map { index in Task { try await portal.authenticate("user\(index)") } }
        #expect(await arrived.next() == "portal")
        #expect(await arrived.next() == "portal")

        // A third is answered at once, busy, without a decision.
        let refused = try await portal.authenticate("user2")
        #expect(refused.status == 503 && refused.body.result == "deny", "\(refused)")
        #expect(drops.total(.overloaded) == 1)

        // Another resource still reaches a decision.
        let other = Task { try await wiki.authenticate("user3") }
        #expect(await arrived.next() == "wiki")

        authenticator.release()
        for call in held + [other] {
            let answer = try await call.value
            #expect(answer.status == 200 && answer.body.result == "allow")
        }
        // Places given back: the portal is served again.
        let again = try await portal.authenticate("user4")
        #expect(again.status == 200 && again.body.result == "allow")
        #expect(drops.total(.overloaded) == 1)
    }
}
