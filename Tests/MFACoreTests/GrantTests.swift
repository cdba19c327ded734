import Foundation
import Testing

@testable import MFACore

/// A primary check that grants groups and an attribute, and asks a question of its own (an upstream RADIUS server's
/// Access-Challenge) for user "pin": the answer "4321" to the State it gave.
struct QuestioningPrimaryVerifier: PrimaryVerifier {
    static let grant = Grant(groups: ["vpn-admins"], attributes: [ReplyAttribute(type: 25, value: Array("upstream".utf8))])
    static let upstreamState: [UInt8] = [0xAB, 0xCD]

    func verify(username: String, password: String, credentials: UserCredentials?) async -> PrimaryVerdict {
        guard password == "pw" else { return .invalid }
        return username == "pin" ? .challenge(prompt: "Enter your new PIN", state: Self.upstreamState) : .valid(Self.grant)
    }

    func answer(username: String, response: String, state: [UInt8], credentials: UserCredentials?) async -> PrimaryVerdict {
        state == Self.upstreamState && response == "4321" ? .valid(Self.grant) : .invalid
    }
}

@Suite struct GrantTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let store = FakeCredentialStore()
    let audit = RecordingAuditSink()
    let secret = Array("12345678901234567890".utf8)
    let vpn = Resource(kind: .radius, name: "vpn")

    init() {
        for user in ["alice", "pin"] {
            store.add(UserCredentials(username: user, passwordHash: nil, totp: TOTPEnrollment(secret: secret)))
        }
        store.memberships.withLock { $0["alice"] = ["local-staff", "vpn-admins"] }
    }

    func authenticator(readsGroups: Bool) -> MFAAuthenticator {
        MFAAuthenticator(
            store: store, audit: audit, primary: QuestioningPrimaryVerifier(), policy: .init(readsGroups: readsGroups), clock: clock)
    }

    func attempt(_ user: String, _ secret: String, state: [UInt8]? = nil) -> LoginAttempt {
        LoginAttempt(
            username: user, secret: secret, delivery: .appended(delimiter: ","), resource: vpn, clientAddress: "192.0.2.1",
            challengeState: state)
    }

    var code: String { OneTimeCode.totp(secret: secret, at: clock.now()) }

    @Test func theAcceptCarriesThePrimarysGrantAndTheLocalGroupsOnce() async {
        let verdict = await authenticator(readsGroups: true).authenticate(attempt("alice", "pw,\(code)"))
        #expect(verdict == .accept(Grant(groups: ["vpn-admins", "local-staff"], attributes: QuestioningPrimaryVerifier.grant.attributes)))
        // Without a rule naming a group, the store is not asked.
        clock.advance(by: 30)
        #expect(await authenticator(readsGroups: false).authenticate(attempt("alice", "pw,\(code)")) == .accept(QuestioningPrimaryVerifier.grant))
    }

    @Test func theGrantSurvivesTheCodeChallenge() async throws {
        let mfa = authenticator(readsGroups: false)
        guard case .challenge(_, let state) = await mfa.authenticate(attempt("alice", "pw")) else {
            Issue.record("expected a challenge")
            return
        }
        #expect(await mfa.authenticate(attempt("alice", code, state: state)) == .accept(QuestioningPrimaryVerifier.grant))
    }

    @Test func thePrimarysOwnQuestionIsRelayedAndItsAnswerGoesBackWithItsState() async throws {
        let mfa = authenticator(readsGroups: false)
        guard case .challenge(let prompt, let state) = await mfa.authenticate(attempt("pin", "pw")) else {
            Issue.record("expected the primary's challenge")
            return
        }
        #expect(prompt == "Enter your new PIN")
        // Not the primary's own State: the core's, which the store keeps by its hash.
        #expect(state != QuestioningPrimaryVerifier.upstreamState && state.count == ChallengeBook.stateByteCount)
        // The right answer leads on to the second factor: here, the code challenge.
        guard case .challenge(let codePrompt, let codeState) = await mfa.authenticate(attempt("pin", "4321", state: state)) else {
            Issue.record("expected the code challenge after the primary's answer")
            return
        }
        #expect(codePrompt == MFAAuthenticator.codePrompt)
        #expect(await mfa.authenticate(attempt("pin", code, state: codeState)) == .accept(QuestioningPrimaryVerifier.grant))

        // A wrong answer is a wrong password; the State is used up either way.
        guard case .challenge(_, let second) = await mfa.authenticate(attempt("pin", "pw")) else {
            Issue.record("expected the primary's challenge")
            return
        }
        #expect(await mfa.authenticate(attempt("pin", "0000", state: second)) == .reject(.invalidCredentials))
        #expect(await mfa.authenticate(attempt("pin", "4321", state: second)) == .reject(.invalidState))
    }
}
