import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import MFACore

/// Stands in for the shared database (PostgreSQL, whose own implementation the store contract tests check against a
/// real server): one table of pushes, atomic publish and first-wins resolve, and a feed of changes per follower.
final class SharedPushTable: PushCluster {
    private struct State {
        var pushes: [String: SharedPush] = [:]
        var feeds: [AsyncStream<PushClusterChange>.Continuation] = []
    }

    private let state = Locked(State())

    func publish(_ push: SharedPush, limit: PushLimiter.Settings, now: Date) async throws -> PushPublication {
        let (publication, feeds): (PushPublication, [AsyncStream<PushClusterChange>.Continuation]) = state.withLock { state in
            let pending = state.pushes.values.filter { $0.outcome == nil && Double($0.message.expires) > now.timeIntervalSince1970 }
            if let joinKey = push.joinKey, let existing = pending.first(where: { $0.joinKey == joinKey }) { return (.joined(existing), []) }
            if limit.enabled, !limit.exempt.contains(push.resource.kind),
                pending.filter({ $0.message.user == push.message.user && $0.resource == push.resource }).count >= limit.maxConcurrent
            {
                return (.limited, [])
            }
            state.pushes[push.message.id] = push
            return (.created, state.feeds)
        }
        for feed in feeds { feed.yield(.created(push)) }
        return publication
    }

    func resolve(pushID: String, outcome: PushCoordinator.Outcome, number: String?) async throws -> Bool {
        let feeds: [AsyncStream<PushClusterChange>.Continuation]? = state.withLock { state in
            guard state.pushes[pushID]?.outcome == nil, state.pushes[pushID] != nil else { return nil }
            state.pushes[pushID]!.outcome = outcome
            state.pushes[pushID]!.number = number
            return state.feeds
        }
        guard let feeds else { return false }
        for feed in feeds { feed.yield(.resolved(pushID: pushID, outcome: outcome, number: number)) }
        return true
    }

    func announceDevice(_ deviceID: String) async throws {
        for feed in state.withLock({ $0.feeds }) { feed.yield(.deviceSeen(deviceID: deviceID)) }
    }

    func pendingPushes(now: Date) async throws -> [SharedPush] {
        state.withLock { $0.pushes.values.filter { $0.outcome == nil && Double($0.message.expires) > now.timeIntervalSince1970 } }
    }

    func push(id: String) async throws -> SharedPush? {
        state.withLock { $0.pushes[id] }
    }

    func changes() -> AsyncStream<PushClusterChange> {
        let (stream, continuation) = AsyncStream<PushClusterChange>.makeStream()
        continuation.yield(.resynchronize)
        state.withLock { $0.feeds.append(continuation) }
        return stream
    }

    /// A node that went away: its feed ends.
    func endFeeds() {
        for feed in state.withLock({ state in defer { state.feeds = [] }; return state.feeds }) { feed.finish() }
    }
}

/// Two or three nodes' push coordinators on one shared table: what one node starts, another finishes.
@Suite struct ClusterPushTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let serverKey = P256.Signing.PrivateKey()
    let deviceKey = P256.Signing.PrivateKey()
    let table = SharedPushTable()
    let vpn = Resource(kind: .radius, name: "vpn")

    var device: EnrolledDevice {
        EnrolledDevice(
            id: "dev-1", username: "alice", publicKey: DeviceCrypto.encode(deviceKey.publicKey), name: "phone",
            platform: "linux", enrolledAt: clock.now())
    }

    /// A node, following the table until the test ends.
    func node(limit: PushLimiter.Settings = .init()) -> (PushCoordinator, Task<Void, Never>) {
        let push = PushCoordinator(signingKey: serverKey, timeout: 45, limiter: limit, clock: clock, cluster: table)
        return (push, Task { await push.follow() })
    }

    func answer(_ node: PushCoordinator, _ message: PushMessage, _ decision: PushDecision) async throws {
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: decision, deviceID: "dev-1"), with: deviceKey)
        try await node.answer(pushID: message.id, decision: decision, signature: signature, deviceID: "dev-1")
    }

    func login(_ node: PushCoordinator, joinKey: String? = nil, resource: Resource? = nil) -> Task<PushCoordinator.Result, Never> {
        let (device, resource) = (self.device, resource ?? vpn)
        return Task { await node.push(username: "alice", device: device, resource: resource, clientAddress: "192.0.2.1", joinKey: joinKey) }
    }

    @Test func aPushMadeOnOneNodeIsAnsweredThroughAnotherAndReleasesTheLogin() async throws {
        let (a, followingA) = node()
        let (b, followingB) = node()
        defer { followingA.cancel(); followingB.cancel() }
        let waiting = login(a)
        // The device polls node B.
        let delivered = try #require(await b.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        try await answer(b, delivered, .approve)
        #expect(await waiting.value == .init(outcome: .approved, pushID: delivered.id, created: true))
        // Both nodes forget it; a second answer is refused on either.
        await a.waitUntil { $0.pendingCount == 0 }
        await #expect(throws: PushCoordinator.AnswerRefusal.unknownPush) { try await answer(a, delivered, .deny) }
    }

    @Test func theSameAttemptOnTwoNodesMakesOnePush() async throws {
        let (a, followingA) = node()
        let (b, followingB) = node()
        defer { followingA.cancel(); followingB.cancel() }
        let first = login(a, joinKey: "attempt-1")
        let delivered = try #require(await a.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        let second = login(b, joinKey: "attempt-1")
        await b.waitUntil { $0.waitingLogins[delivered.id] == 1 }
        try await answer(a, delivered, .approve)
        #expect(await first.value == .init(outcome: .approved, pushID: delivered.id, created: true))
        #expect(await second.value == .init(outcome: .approved, pushID: delivered.id, created: false))
        #expect(try await table.pendingPushes(now: clock.now()).isEmpty)
    }

    /// Two nodes that had not heard of each other's push yet: the table keeps one, the other node's login joins it.
    @Test func aRaceForTheSameAttemptIsSettledByTheTable() async throws {
        let (a, _) = node()
        let (b, _) = node()
        // Nobody follows the table: neither node knows the other's push before it shares its own.
        let first = login(a, joinKey: "attempt-1")
        let delivered = try #require(await a.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        let second = login(b, joinKey: "attempt-1")
        await b.waitUntil { $0.waitingLogins[delivered.id] == 1 }
        #expect(await b.pushes(forDevice: "dev-1", wait: .zero).map(\.id) == [delivered.id])
        try await answer(b, delivered, .deny)
        #expect(await second.value.outcome == .denied)
        // Node A hears of it through the feed, once it follows.
        let following = Task { await a.follow() }
        defer { following.cancel() }
        #expect(await first.value.outcome == .denied)
    }

    @Test func theLimiterCountsThePushesOfEveryNode() async throws {
        let api = Resource(kind: .api, name: "portal")
        let (a, followingA) = node(limit: .init(maxConcurrent: 1))
        let (b, followingB) = node(limit: .init(maxConcurrent: 1))
        defer { followingA.cancel(); followingB.cancel() }
        let first = login(a, resource: api)
        _ = try #require(await a.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        #expect(await login(b, resource: api).value.outcome == .limited)
        a.cancelAll()
        #expect(await first.value.outcome == .cancelled)
    }

    /// A node killed while its push is pending: the NAS's retry to another node joins the push in the table, and the
    /// device's approval through that node completes the login there.
    @Test func aRetryOnAnotherNodeAfterACrashJoinsThePendingPush() async throws {
        let (a, followingA) = node()
        let (b, followingB) = node()
        defer { followingB.cancel() }
        _ = login(a, joinKey: "attempt-1")
        let delivered = try #require(await b.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        followingA.cancel()  // node A is gone; its push stays pending in the table
        let retry = login(b, joinKey: "attempt-1")
        await b.waitUntil { $0.waitingLogins[delivered.id] == 1 }
        try await answer(b, delivered, .approve)
        #expect(await retry.value == .init(outcome: .approved, pushID: delivered.id, created: false))
    }

    /// A device polling node b counts as connected on node a too (the code fallback is for devices offline
    /// everywhere), until it has not polled anywhere for a while.
    @Test func aDevicePollingAnotherNodeCountsAsConnected() async throws {
        let (a, followingA) = node()
        let (b, followingB) = node()
        defer { followingA.cancel(); followingB.cancel() }
        #expect(!a.isConnected(deviceID: "dev-1"))
        let polling = Task { await b.pushes(forDevice: "dev-1", wait: .seconds(30)) }
        await a.waitUntil { $0.devicesSeenElsewhere.contains("dev-1") }
        #expect(a.isConnected(deviceID: "dev-1"))
        clock.advance(by: PushCoordinator.presenceLifetime)
        #expect(!a.isConnected(deviceID: "dev-1"))
        polling.cancel()
    }

    /// Number matching: the push goes out from A, the challenge response arrives at B, which claims the outcome.
    @Test func aNumberMatchingPushIsClaimedOnAnotherNode() async throws {
        let (a, followingA) = node()
        let (b, followingB) = node()
        defer { followingA.cancel(); followingB.cancel() }
        let device = self.device
        let pushID = try #require(await a.pushForNumber(username: "alice", device: device, resource: vpn, clientAddress: "192.0.2.1"))
        let delivered = try #require(await b.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        #expect(delivered.id == pushID)
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: pushID, nonce: delivered.nonce, decision: .approve, deviceID: "dev-1"), with: deviceKey)
        let receipt = try await a.answer(pushID: pushID, decision: .approve, signature: signature, deviceID: "dev-1")
        let claimed = await b.claim(pushID: pushID)
        #expect(claimed.outcome == .approved)
        #expect(claimed.number == receipt.number && receipt.number != nil)
    }
}
