import Crypto
import DeviceProtocol
import Foundation
import Testing

@testable import MFACore

/// Number matching in the core: a challenge at once, the number from the approval, the State used once.
@Suite struct NumberMatchingCoreTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let store = FakeCredentialStore()
    let audit = RecordingAuditSink()
    let deviceKey = P256.Signing.PrivateKey()
    let push: PushCoordinator
    let mfa: MFAAuthenticator
    let hasher = PasswordHasher(cost: .testing)

    init() throws {
        push = PushCoordinator(signingKey: P256.Signing.PrivateKey(), timeout: 45, clock: clock)
        let device = EnrolledDevice(
            id: "dev-1", username: "bob", publicKey: DeviceCrypto.encode(deviceKey.publicKey), name: "phone", platform: "linux",
            enrolledAt: clock.now())
        store.add(UserCredentials(username: "bob", passwordHash: try hasher.hash("pw"), totp: nil, device: device))
        mfa = MFAAuthenticator(
            store: store, audit: audit, primary: LocalPasswordVerifier(hasher: hasher),
            policy: .init(lockout: LockoutPolicy(maxFailures: 5), numberMatching: true), clock: clock, push: push)
    }

    func attempt(_ secret: String, state: [UInt8]? = nil, kind: Resource.Kind = .radius) -> LoginAttempt {
        LoginAttempt(
            username: "bob", secret: secret, delivery: .appended(delimiter: ","), resource: Resource(kind: kind, name: "vpn"),
            clientAddress: "192.0.2.1", challengeState: state)
    }

    /// The challenge, and the device's answer's receipt.
    func challengeAndAnswer(_ decision: PushDecision) async throws -> (state: [UInt8], receipt: PushCoordinator.AnswerReceipt) {
        guard case .challenge(let prompt, let state) = await mfa.authenticate(attempt("pw")) else {
            throw Failure("expected a challenge")
        }
        #expect(prompt == MFAAuthenticator.numberPrompt)
        let message = try #require(await push.pushes(forDevice: "dev-1", wait: .zero).first)
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: decision, deviceID: "dev-1"), with: deviceKey)
        return (state, try await push.answer(pushID: message.id, decision: decision, signature: signature, deviceID: "dev-1"))
    }

    struct Failure: Error { var text: String; init(_ text: String) { self.text = text } }

    @Test func theApprovedNumberAcceptsOnceAndAWrongOneIsAFailedAttempt() async throws {
        let (state, receipt) = try await challengeAndAnswer(.approve)
        let number = try #require(receipt.number)
        #expect(number.count == 3 && number.allSatisfy(\.isNumber))
        #expect(await mfa.authenticate(attempt(number, state: state)) == .accept)
        #expect(await mfa.authenticate(attempt(number, state: state)) == .reject(.invalidState))

        let (second, other) = try await challengeAndAnswer(.approve)
        let wrong = other.number == "000" ? "001" : "000"
        #expect(await mfa.authenticate(attempt(wrong, state: second)) == .reject(.wrongNumber))
        #expect(store.failures.withLock { $0["bob"]?.count } == 1)
        #expect(audit.recorded.filter { $0.type == .pushAttempt }.count == 2)
        #expect(audit.recorded.filter { $0.type == .pushApproved }.count == 2)
    }

    @Test func aDenyGivesNoNumberAndRejectsTheResponse() async throws {
        let (state, receipt) = try await challengeAndAnswer(.deny)
        #expect(receipt.number == nil)
        #expect(await mfa.authenticate(attempt("123", state: state)) == .reject(.pushDenied))
    }

    @Test func aResponseBeforeTheAnswerWaitsForIt() async throws {
        guard case .challenge(_, let state) = await mfa.authenticate(attempt("pw")) else { throw Failure("expected a challenge") }
        let response = Task { await mfa.authenticate(attempt("123", state: state)) }
        await push.waitUntil { $0.waitingLogins.values.contains(1) }
        clock.advance(by: 46)
        push.expire(now: clock.now())
        #expect(await response.value == .reject(.pushTimeout))
    }

    @Test func ldapBindsKeepPlainPush() async throws {
        let bind = Task {
            await mfa.authenticate(
                LoginAttempt(
                    username: "bob", secret: "", delivery: .afterPrimary(.push, primary: .valid), resource: Resource(kind: .ldap, name: "dir"),
                    clientAddress: "192.0.2.1"))
        }
        let message = try #require(await push.pushes(forDevice: "dev-1", wait: .seconds(30)).first)
        let signature = try DeviceCrypto.sign(
            SignedMessage.pushAnswer(pushID: message.id, nonce: message.nonce, decision: .approve, deviceID: "dev-1"), with: deviceKey)
        let receipt = try await push.answer(pushID: message.id, decision: .approve, signature: signature, deviceID: "dev-1")
        #expect(receipt.number == nil)
        #expect(await bind.value == .accept)
    }
}
