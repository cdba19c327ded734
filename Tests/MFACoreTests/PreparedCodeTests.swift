import Foundation
import Testing

@testable import MFACore

/// The LDAP proxy's code checked while the directory checks the password (`LoginAuthenticator.prepare`): its step is
/// recorded then, the decision after the directory's answer writes nothing more, and a step recorded for a bind that
/// is not accepted is given back — once, and never after an Accept.
@Suite struct PreparedCodeTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let store = FakeCredentialStore()
    let audit = RecordingAuditSink()
    let secret = Array("12345678901234567890".utf8)
    let ldap = Resource(kind: .ldap, name: "directory")

    init() {
        store.add(UserCredentials(username: "alice", passwordHash: nil, totp: TOTPEnrollment(secret: secret)))
        store.add(UserCredentials(username: "bob", passwordHash: nil, totp: nil))
    }

    var mfa: MFAAuthenticator {
        MFAAuthenticator(store: store, audit: audit, policy: .init(lockout: LockoutPolicy(maxFailures: 3)), clock: clock)
    }
    var code: String { OneTimeCode.totp(secret: secret, at: clock.now()) }
    var step: Int64 { Int64(clock.now().timeIntervalSince1970) / 30 }

    func bind(_ user: String, _ code: String, password: PrimaryVerdict, prepared: PreparedCredentials?) -> LoginAttempt {
        LoginAttempt(
            username: user, secret: "", delivery: .afterPrimary(.code(code), primary: password), resource: ldap,
            clientAddress: "192.0.2.9", prepared: prepared)
    }

    var stepWrites: [String] { store.stepWrites.withLock { $0 } }

    @Test func aValidCodesStepIsRecordedWithTheReadAndTheDecisionWritesNothingMore() async throws {
        let mfa = self.mfa
        let prepared = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(prepared.reservedStep == step)
        #expect(stepWrites == ["record \(step)"])
        #expect(audit.recorded.isEmpty)

        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: prepared)) == .accept)
        #expect(stepWrites == ["record \(step)"])
        #expect(audit.recorded.map { "\($0.type):\($0.result.rawValue)" } == ["ldap_bind:success"])
        // Accepted with it: nothing is left to give back, whoever asks.
        #expect(prepared.reservedStep == nil)
        await mfa.release(prepared)
        #expect(stepWrites == ["record \(step)"])

        // The same code again: used.
        let again = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(again.reservedStep == nil)
        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: again)) == .reject(.replayedCode))
    }

    /// A mistyped password: the user's retry with the same code, right after the answer, is accepted.
    @Test func aWrongPasswordGivesTheStepBackBeforeTheReply() async throws {
        let mfa = self.mfa
        let first = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(await mfa.authenticate(bind("alice", code, password: .invalid, prepared: first)) == .reject(.invalidCredentials))
        #expect(stepWrites == ["record \(step)", "release \(step)"])
        #expect(store.failures.withLock { $0["alice"]?.count } == 1)

        let retry = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(retry.reservedStep == step)
        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: retry)) == .accept)
        #expect(try await store.recordAcceptedTOTPStep(step, for: "alice") == false)
    }

    /// Meanwhile the step is used: a second bind with the same code is refused, whatever its password.
    @Test func whileReservedTheCodeIsUsed() async throws {
        let mfa = self.mfa
        let first = try #require(await mfa.prepare(for: "alice", code: code))
        let second = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(first.reservedStep == step && second.reservedStep == nil)
        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: second)) == .reject(.replayedCode))
        // The second's refusal gives back nothing of the first's.
        #expect(stepWrites == ["record \(step)", "record \(step)"])
        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: first)) == .accept)
    }

    @Test func aWrongCodeOrALockedUserRecordsNothing() async throws {
        let mfa = self.mfa
        let wrong = code == "000000" ? "111111" : "000000"
        let prepared = try #require(await mfa.prepare(for: "alice", code: wrong))
        #expect(prepared.reservedStep == nil && stepWrites.isEmpty)
        #expect(await mfa.authenticate(bind("alice", wrong, password: .valid, prepared: prepared)) == .reject(.invalidCode))

        // Three failures lock alice (`maxFailures: 3`); her valid code is then not even looked at.
        for _ in 0..<2 { _ = await mfa.authenticate(bind("alice", wrong, password: .invalid, prepared: nil)) }
        let locked = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(locked.reservedStep == nil && stepWrites.isEmpty)
        #expect(await mfa.authenticate(bind("alice", code, password: .valid, prepared: locked)) == .reject(.locked))

        // No TOTP, no check.
        let bob = try #require(await mfa.prepare(for: "bob", code: code))
        #expect(bob.reservedStep == nil && stepWrites.isEmpty)
    }

    /// What was prepared for another user's attempt decides nothing for this one, and its step goes back.
    @Test func aReservationGoesBackWhenItsAttemptDoesNotUseIt() async throws {
        let mfa = self.mfa
        let alices = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(await mfa.authenticate(bind("mallory", code, password: .valid, prepared: alices)) != .accept)
        #expect(stepWrites == ["record \(step)", "release \(step)"])

        // A bind the core never decides (its client left): the proxy releases it; twice is once.
        let abandoned = try #require(await mfa.prepare(for: "alice", code: code))
        await mfa.release(abandoned)
        await mfa.release(abandoned)
        #expect(stepWrites == ["record \(step)", "release \(step)", "record \(step)", "release \(step)"])
    }

    /// A later step recorded meanwhile stays when an earlier reservation is given back.
    @Test func aLaterStepIsNeverGivenBack() async throws {
        let mfa = self.mfa
        let first = try #require(await mfa.prepare(for: "alice", code: code))
        #expect(try await store.recordAcceptedTOTPStep(step + 1, for: "alice"))
        await mfa.release(first)
        #expect(try await store.recordAcceptedTOTPStep(step + 1, for: "alice") == false)
    }
}
