import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import MFACore

@Suite struct PushCoordinatorTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let serverKey = P256.Signing.PrivateKey()
    let deviceKey = P256.Signing.PrivateKey()
    let vpn = Resource(kind: .radius, name: "vpn")
    var device: EnrolledDevice {
        EnrolledDevice(
            id: "dev-1", username: "alice", publicKey: DeviceCrypto.encode(deviceKey.publicKey), name: "phone",
            platform: "linux", enrolledAt: clock.now())
    }

    func coordinator(limit: PushLimiter.Settings = .init()) -> PushCoordinator {
        PushCoordinator(signingKey: serverKey, timeout: 45, limiter: limit, clock: clock)
    }

    func answerSignature(_ push: PushMessage, _ decision: PushDecision, key: P256.Signing.PrivateKey? = nil, deviceID: String = "dev-1") throws -> String {
        try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: push.id, nonce: push.nonce, decision: decision, deviceID: deviceID), with: key ?? deviceKey)
    }

    /// Starts a login that pushes, and returns it with the push as the device receives it (the device's long poll
    /// returns when the push is created: no sleeping).
    func startPush(_ push: PushCoordinator, joinKey: String? = nil) async throws -> (Task<PushCoordinator.Result, Never>, PushMessage) {
        let device = self.device
        let vpn = self.vpn
        let login = Task { await push.push(username: "alice", device: device, resource: vpn, clientAddress: "192.0.2.1", joinKey: joinKey) }
        let delivered = await push.pushes(forDevice: "dev-1", wait: .seconds(30))
        return (login, try #require(delivered.first))
    }

    @Test func approvedPushIsSignedByTheServerAndResolvesTheLogin() async throws {
        let push = coordinator()
        let (login, message) = try await startPush(push)
        #expect(DeviceCrypto.verify(message.signature, of: SignedMessage.pushRequest(message), publicKey: push.serverPublicKey))
        #expect(message.user == "alice" && message.resourceKind == "radius" && message.resourceName == "vpn")
        #expect(message.expires - message.created == 45)
        try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        #expect(await login.value == .init(outcome: .approved, pushID: message.id, created: true))
        #expect(push.pendingCount == 0)
    }

    @Test func denyIsFinalAndASecondAnswerIsRefused() async throws {
        let push = coordinator()
        let (login, message) = try await startPush(push)
        try await push.answer(pushID: message.id, decision: .deny, signature: answerSignature(message, .deny), deviceID: "dev-1")
        #expect(await login.value.outcome == .denied)
        await #expect(throws: PushCoordinator.AnswerRefusal.unknownPush) {
            try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        }
    }

    @Test func forgedReplayedAndMisdirectedAnswersAreRefused() async throws {
        let push = coordinator(limit: .init(enabled: false))
        let (first, a) = try await startPush(push)
        let device = self.device
        let vpn = self.vpn
        let second = Task { await push.push(username: "alice", device: device, resource: vpn, clientAddress: "192.0.2.1") }
        await push.waitUntil { $0.pendingCount == 2 }
        let b = try #require(await push.pushes(forDevice: "dev-1", wait: .zero).first { $0.id != a.id })
        // Signed by another key.
        await #expect(throws: PushCoordinator.AnswerRefusal.badSignature) {
            try await push.answer(pushID: a.id, decision: .approve, signature: answerSignature(a, .approve, key: P256.Signing.PrivateKey()), deviceID: "dev-1")
        }
        // A valid answer for push a, replayed onto push b.
        await #expect(throws: PushCoordinator.AnswerRefusal.badSignature) {
            try await push.answer(pushID: b.id, decision: .approve, signature: answerSignature(a, .approve), deviceID: "dev-1")
        }
        // An approve signature presented as a deny, and garbage.
        await #expect(throws: PushCoordinator.AnswerRefusal.badSignature) {
            try await push.answer(pushID: a.id, decision: .deny, signature: answerSignature(a, .approve), deviceID: "dev-1")
        }
        await #expect(throws: PushCoordinator.AnswerRefusal.badSignature) {
            try await push.answer(pushID: a.id, decision: .approve, signature: "not base64", deviceID: "dev-1")
        }
        await #expect(throws: PushCoordinator.AnswerRefusal.wrongDevice) {
            try await push.answer(pushID: a.id, decision: .approve, signature: answerSignature(a, .approve, deviceID: "dev-2"), deviceID: "dev-2")
        }
        #expect(push.pendingCount == 2)
        push.cancelAll()
        #expect(await first.value.outcome == .cancelled)
        #expect(await second.value.outcome == .cancelled)
    }

    @Test func anAnswerAfterExpiryIsRefusedAndTheLoginTimesOut() async throws {
        let push = coordinator()
        let (login, message) = try await startPush(push)
        clock.advance(by: 45)
        await #expect(throws: PushCoordinator.AnswerRefusal.expired) {
            try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        }
        push.expire(now: clock.now())
        #expect(await login.value.outcome == .timedOut)
    }

    @Test func theSameAttemptJoinsThePendingPush() async throws {
        let push = coordinator()
        let (first, message) = try await startPush(push, joinKey: "attempt-1")
        let device = self.device
        let vpn = self.vpn
        let second = Task { await push.push(username: "alice", device: device, resource: vpn, clientAddress: "192.0.2.1", joinKey: "attempt-1") }
        // Until the second login has joined.
        await push.waitUntil { $0.waitingLogins[message.id] == 2 }
        #expect(await push.pushes(forDevice: "dev-1", wait: .zero).map(\.id) == [message.id])
        try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        #expect(await first.value == .init(outcome: .approved, pushID: message.id, created: true))
        #expect(await second.value == .init(outcome: .approved, pushID: message.id, created: false))
    }

    /// Joined on arrival (before its task runs): counted as waiting, so that watchers see it.
    @Test func anAttemptJoinedOnArrivalCountsAsWaiting() async throws {
        let push = coordinator()
        let (first, message) = try await startPush(push, joinKey: "attempt-1")
        let watching = Task { await push.waitUntil { $0.waitingLogins[message.id] == 2 } }
        let join = try #require(push.joinPending(joinKey: "attempt-1"))
        await watching.value
        try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        #expect(await first.value.outcome == .approved)
        #expect(await join.result() == .init(outcome: .approved, pushID: message.id, created: false))
    }

    @Test func aDevicePollGetsItsOwnPendingPushesOldestFirst() async throws {
        let push = coordinator()
        let (vpnLogin, vpnPush) = try await startPush(push)
        let device = self.device
        let wifiLogin = Task {
            await push.push(username: "alice", device: device, resource: Resource(kind: .radius, name: "wifi"), clientAddress: "192.0.2.1")
        }
        await push.waitUntil { $0.pendingCount == 2 }
        let bobsDevice = EnrolledDevice(
            id: "dev-2", username: "bob", publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey), name: "phone",
            platform: "linux", enrolledAt: clock.now())
        let vpn = self.vpn
        let bobsLogin = Task { await push.push(username: "bob", device: bobsDevice, resource: vpn, clientAddress: "192.0.2.2") }
        await push.waitUntil { $0.pendingCount == 3 }

        #expect(await push.pushes(forDevice: "dev-1", wait: .zero).map(\.resourceName) == ["vpn", "wifi"])
        #expect(await push.pushes(forDevice: "dev-2", wait: .zero).map(\.user) == ["bob"])
        #expect(await push.pushes(forDevice: "dev-3", wait: .zero).isEmpty)
        // An answered push leaves its device's list; the others stay.
        try await push.answer(pushID: vpnPush.id, decision: .approve, signature: answerSignature(vpnPush, .approve), deviceID: "dev-1")
        #expect(await vpnLogin.value.outcome == .approved)
        #expect(await push.pushes(forDevice: "dev-1", wait: .zero).map(\.resourceName) == ["wifi"])
        push.cancelAll()
        #expect(await wifiLogin.value.outcome == .cancelled)
        #expect(await bobsLogin.value.outcome == .cancelled)
        #expect(await push.pushes(forDevice: "dev-1", wait: .zero).isEmpty)
    }

    @Test func theLimiterRefusesASecondAPIPushUntilTheFirstIsAnswered() async throws {
        let push = coordinator()
        let portal = Resource(kind: .api, name: "portal")
        let device = self.device
        let first = Task { await push.push(username: "alice", device: device, resource: portal, clientAddress: "") }
        let message = try #require(await push.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        #expect(await push.push(username: "alice", device: device, resource: portal, clientAddress: "").outcome == .limited)
        #expect(push.pendingCount == 1)
        try await push.answer(pushID: message.id, decision: .approve, signature: answerSignature(message, .approve), deviceID: "dev-1")
        #expect(await first.value.outcome == .approved)
        let third = Task { await push.push(username: "alice", device: device, resource: portal, clientAddress: "") }
        #expect(try #require(await push.pushes(forDevice: "dev-1", wait: .seconds(30)).first).id != message.id)
        push.cancelAll()
        #expect(await third.value.outcome == .cancelled)
    }

    @Test func theLimiterTakesTheConsolesSettingsAtEachPush() async throws {
        let store = GatewaySettingsCacheTests.CountingSettingsStore()
        let settings = GatewaySettingsCache(
            defaults: EffectiveGatewaySettings(pushLimit: PushLimiter.Settings(), allowUnenrolled: false), store: store, clock: clock)
        let push = PushCoordinator(signingKey: serverKey, timeout: 45, limiter: PushLimiter.Settings(), clock: clock, settings: settings)
        let portal = Resource(kind: .api, name: "portal")
        let device = self.device
        // The console allows two pushes at once where the configuration allows one.
        try await store.setGatewaySettings(GatewaySettings(pushLimit: PushLimiter.Settings(maxConcurrent: 2)))
        let first = Task { await push.push(username: "alice", device: device, resource: portal, clientAddress: "") }
        _ = await push.pushes(forDevice: "dev-1", wait: .seconds(30))
        let second = Task { await push.push(username: "alice", device: device, resource: portal, clientAddress: "") }
        await push.waitUntil { $0.pendingCount == 2 }
        #expect(await push.push(username: "alice", device: device, resource: portal, clientAddress: "").outcome == .limited)
        // Reset in the store: the configuration's one push is in force once the row is read again, a second later.
        try await store.setGatewaySettings(GatewaySettings())
        clock.advance(by: 1)
        #expect(await settings.current().pushLimit.maxConcurrent == 1)
        push.cancelAll()
        #expect(await first.value.outcome == .cancelled)
        #expect(await second.value.outcome == .cancelled)
    }

    @Test func aDeviceIsConnectedWhilePollingAndShortlyAfter() async throws {
        let push = coordinator()
        #expect(!push.isConnected(deviceID: "dev-1"))
        _ = await push.pushes(forDevice: "dev-1", wait: .zero)
        #expect(push.isConnected(deviceID: "dev-1"))
        clock.advance(by: PushCoordinator.reconnectGrace)
        #expect(!push.isConnected(deviceID: "dev-1"))
    }
}
