import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import MFACore

/// A password check that takes as long as the test says: each call waits until released.
final class GatedPrimaryVerifier: PrimaryVerifier {
    private let calls = Locked<[CheckedContinuation<Void, Never>]>([])
    private let count = Locked(0)

    var callCount: Int { count.withLock { $0 } }

    func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict {
        count.withLock { $0 += 1 }
        await withCheckedContinuation { continuation in calls.withLock { $0.append(continuation) } }
        return password == "pw" ? .valid : .invalid
    }

    /// Lets every call under way finish.
    func releaseAll() {
        for call in calls.withLock({ calls in defer { calls = [] }; return calls }) { call.resume() }
    }
}

/// A NAS retrying the same attempt (new Identifier, or through a second server address) while its push is pending.
@Suite struct ArrivalJoinTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let store = FakeCredentialStore()
    let audit = RecordingAuditSink()
    let deviceKey = P256.Signing.PrivateKey()
    let push: PushCoordinator
    let primary = GatedPrimaryVerifier()
    let vpn = Resource(kind: .radius, name: "vpn")

    init() {
        push = PushCoordinator(signingKey: P256.Signing.PrivateKey(), timeout: 45, clock: clock)
        let device = EnrolledDevice(
            id: "dev-1", username: "bob", publicKey: DeviceCrypto.encode(deviceKey.publicKey), name: "phone", platform: "linux",
            enrolledAt: clock.now())
        store.add(UserCredentials(username: "bob", passwordHash: nil, totp: nil, device: device))
    }

    var authenticator: MFAAuthenticator {
        MFAAuthenticator(store: store, audit: audit, primary: primary, clock: clock, push: push)
    }

    func attempt(_ password: String = "pw") -> LoginAttempt {
        LoginAttempt(
            username: "bob", secret: password, delivery: .appended(delimiter: ","), resource: vpn, clientAddress: "192.0.2.1",
            sessionHint: "02-00-00-00-00-01")
    }

    /// The first copy's password check passes and its push goes out; returns the login and the push.
    func firstCopyPushed(_ mfa: MFAAuthenticator) async throws -> (Task<Verdict, Never>, PushMessage) {
        let first = mfa.attemptReceived(attempt())
        #expect(first.joinedPush == nil)
        let login = Task { await mfa.authenticate(first) }
        // The check waits on the gate until released; the device's poll returns when the push is made.
        while primary.callCount == 0 { await Task.yield() }
        primary.releaseAll()
        let delivered = await push.pushes(forDevice: "dev-1", wait: .seconds(30))
        return (login, try #require(delivered.first))
    }

    @Test func aCopyThatArrivesWhileThePushIsPendingGetsItsOutcomeWithoutASecondPushOrCheck() async throws {
        let mfa = authenticator
        let (first, message) = try await firstCopyPushed(mfa)
        let second = mfa.attemptReceived(attempt())
        #expect(second.joinedPush != nil)
        // Approved before the second copy's task even begins: it still gets the approval.
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: .approve, deviceID: "dev-1"), with: deviceKey)
        try await push.answer(pushID: message.id, decision: .approve, signature: signature, deviceID: "dev-1")
        #expect(await first.value == .accept)
        #expect(await mfa.authenticate(second) == .accept)
        #expect(primary.callCount == 1)
        #expect(audit.recorded.filter { $0.type == .pushAttempt }.count == 1)
        let logins = audit.recorded.filter { $0.type == .radiusAuth }
        #expect(logins.count == 2 && logins.allSatisfy { $0.result == .success })
        #expect(logins.filter { $0.details["joined_push"] == "true" }.count == 1)
        #expect(push.pendingCount == 0)
    }

    @Test func aDenyReachesTheJoinedCopyToo() async throws {
        let mfa = authenticator
        let (first, message) = try await firstCopyPushed(mfa)
        let second = mfa.attemptReceived(attempt())
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: .deny, deviceID: "dev-1"), with: deviceKey)
        try await push.answer(pushID: message.id, decision: .deny, signature: signature, deviceID: "dev-1")
        #expect(await first.value == .reject(.pushDenied))
        #expect(await mfa.authenticate(second) == .reject(.pushDenied))
        #expect(audit.recorded.filter { $0.type == .pushAttempt }.count == 1)
    }

    @Test func anotherPasswordOrAChallengeResponseJoinsNothing() async throws {
        let mfa = authenticator
        let (first, _) = try await firstCopyPushed(mfa)
        #expect(mfa.attemptReceived(attempt("guess")).joinedPush == nil)
        var response = attempt()
        response.challengeState = [1, 2, 3]
        #expect(mfa.attemptReceived(response).joinedPush == nil)
        push.cancelAll()
        #expect(await first.value == .reject(.unavailable))
    }
}
