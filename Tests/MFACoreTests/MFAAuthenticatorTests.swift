import Foundation
import Testing

@testable import MFACore

/// In-memory stand-ins for the store and the audit sink; the integration tests use the real store.
final class FakeCredentialStore: CredentialStore {
    let users = Locked<[String: (credentials: UserCredentials, lastStep: Int64?, previousStep: Int64?)]>([:])
    /// Every step recorded or given back, in order (for tests).
    let stepWrites = Locked<[String]>([])

    func add(_ credentials: UserCredentials) {
        users.withLock { $0[credentials.username] = (credentials, nil, nil) }
    }

    func credentials(for username: String) async throws -> UserCredentials? {
        let failed = failures.withLock { $0[username]?.count ?? 0 }
        return users.withLock { $0[username]?.credentials }.map { credentials in
            var credentials = credentials
            credentials.failedAttempts = failed
            return credentials
        }
    }

    func isPushEnabled() async throws -> Bool { true }

    let failures = Locked<[String: (count: Int, lockedUntil: Date?)]>([:])

    func recordFailure(for username: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        let locked = failures.withLock { failures -> Bool in
            var entry = failures[username] ?? (0, nil)
            entry.count += 1
            defer { failures[username] = entry }
            guard entry.count >= policy.maxFailures else { return false }
            entry = (0, now.addingTimeInterval(policy.duration))
            return true
        }
        if locked {
            let until = failures.withLock { $0[username]?.lockedUntil }
            users.withLock { $0[username]?.credentials.lockedUntil = until }
        }
        return locked
    }

    func clearFailures(for username: String) async throws {
        failures.withLock { $0[username] = nil }
        users.withLock { $0[username]?.credentials.lockedUntil = nil }
    }

    let memberships = Locked<[String: [String]]>([:])

    func groups(of username: String) async throws -> [String] {
        memberships.withLock { $0[username] ?? [] }
    }

    func recordAcceptedTOTPStep(_ step: Int64, for username: String) async throws -> Bool {
        stepWrites.withLock { $0.append("record \(step)") }
        return users.withLock { users in
            guard let user = users[username], (user.lastStep ?? .min) < step else { return false }
            users[username]?.previousStep = user.lastStep
            users[username]?.lastStep = step
            return true
        }
    }

    func releaseTOTPStep(_ step: Int64, for username: String) async throws {
        stepWrites.withLock { $0.append("release \(step)") }
        users.withLock { users in
            guard let user = users[username], user.lastStep == step else { return }
            users[username]?.lastStep = user.previousStep
            users[username]?.previousStep = nil
        }
    }
}

final class RecordingAuditSink: AuditSink {
    let events = Locked<[AuditEvent]>([])
    func record(_ event: AuditEvent) async { events.withLock { $0.append(event) } }
    var recorded: [AuditEvent] { events.withLock { $0 } }
}

@Suite struct MFAAuthenticatorTests {
    let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
    let store = FakeCredentialStore()
    let audit = RecordingAuditSink()
    let hasher = PasswordHasher(cost: .testing)
    let secret = Array("12345678901234567890".utf8)
    let vpn = Resource(kind: .radius, name: "vpn")

    init() throws {
        store.add(UserCredentials(username: "alice", passwordHash: try hasher.hash("pw"), totp: TOTPEnrollment(secret: secret)))
        store.add(UserCredentials(username: "bob", passwordHash: try hasher.hash("pw"), totp: nil))
    }

    func authenticator(allowUnenrolled: Bool = false, lockout: LockoutPolicy = LockoutPolicy()) -> MFAAuthenticator {
        MFAAuthenticator(
            store: store, audit: audit, primary: LocalPasswordVerifier(hasher: hasher),
            policy: .init(allowUnenrolled: allowUnenrolled, lockout: lockout), clock: clock)
    }

    func attempt(_ user: String, _ secret: String, _ delivery: FactorDelivery = .appended(delimiter: ","), state: [UInt8]? = nil) -> LoginAttempt {
        LoginAttempt(username: user, secret: secret, delivery: delivery, resource: vpn, clientAddress: "192.0.2.1", challengeState: state)
    }

    var code: String { OneTimeCode.totp(secret: secret, at: clock.now()) }

    @Test func appendedCodeIsAcceptedOnceOnly() async {
        let mfa = authenticator()
        #expect(await mfa.authenticate(attempt("alice", "pw,\(code)")) == .accept)
        #expect(await mfa.authenticate(attempt("alice", "pw,\(code)")) == .reject(.replayedCode))
        // One event per login, naming the factor.
        let types = audit.recorded.map { "\($0.type):\($0.result.rawValue):\($0.error ?? ""):\($0.details["factor"] ?? "")" }
        #expect(types == ["radius_auth:success::totp", "radius_auth:failure:replayed_code:totp"])
    }

    @Test func wrongPasswordAndUnknownUserLookTheSame() async {
        let mfa = authenticator()
        #expect(await mfa.authenticate(attempt("alice", "nope,\(code)")) == .reject(.invalidCredentials))
        #expect(await mfa.authenticate(attempt("mallory", "pw,\(code)")) == .reject(.invalidCredentials))
        #expect(audit.recorded.allSatisfy { $0.type == .radiusAuth && $0.error == "invalid_credentials" })
    }

    @Test func wrongCodeIsRejected() async {
        let mfa = authenticator()
        let wrong = code == "000000" ? "111111" : "000000"
        #expect(await mfa.authenticate(attempt("alice", "pw,\(wrong)")) == .reject(.invalidCode))
    }

    @Test func passwordAloneGetsAChallengeWhoseStateWorksOnce() async throws {
        let mfa = authenticator()
        guard case .challenge(let prompt, let state) = await mfa.authenticate(attempt("alice", "pw")) else {
            Issue.record("expected a challenge")
            return
        }
        #expect(prompt == "Enter your verification code")
        #expect(await mfa.authenticate(attempt("alice", code, state: state)) == .accept)
        clock.advance(by: 30)
        #expect(await mfa.authenticate(attempt("alice", code, state: state)) == .reject(.invalidState))
    }

    @Test func challengeStateExpiresAfterFiveMinutes() async throws {
        let mfa = authenticator()
        guard case .challenge(_, let state) = await mfa.authenticate(attempt("alice", "pw", .challenge)) else {
            Issue.record("expected a challenge")
            return
        }
        clock.advance(by: 301)
        #expect(await mfa.authenticate(attempt("alice", code, state: state)) == .reject(.invalidState))
    }

    @Test func challengeModeDoesNotSplitThePassword() async throws {
        let mfa = authenticator()
        // In challenge mode "pw,123456" is the whole password, which is wrong.
        #expect(await mfa.authenticate(attempt("alice", "pw,\(code)", .challenge)) == .reject(.invalidCredentials))
    }

    @Test func secondFactorOnlyTakesTheCodeAlone() async {
        let mfa = authenticator()
        #expect(await mfa.authenticate(attempt("alice", code, .secondFactorOnly)) == .accept)
        #expect(await mfa.authenticate(attempt("alice", code, .secondFactorOnly)) == .reject(.replayedCode))
        #expect(await mfa.authenticate(attempt("mallory", code, .secondFactorOnly)) == .reject(.invalidCode))
    }

    @Test func unenrolledUsersAreRejectedUnlessAllowed() async {
        #expect(await authenticator().authenticate(attempt("bob", "pw")) == .reject(.noSecondFactor))
        #expect(await authenticator(allowUnenrolled: true).authenticate(attempt("bob", "pw")) == .accept)
        #expect(await authenticator(allowUnenrolled: true).authenticate(attempt("bob", "nope")) == .reject(.invalidCredentials))
    }

    @Test func noEventHoldsAPasswordOrCode() async {
        let mfa = authenticator()
        let current = code
        _ = await mfa.authenticate(attempt("alice", "pw,\(current)"))
        _ = await mfa.authenticate(attempt("alice", "s3cr3t-pw,\(current)"))
        for event in audit.recorded {
            let text = "\(event)"
            #expect(!text.contains(current) && !text.contains("s3cr3t"))
        }
    }

    @Test func afterADirectoryBindOnlyTheSecondFactorIsChecked() async {
        let mfa = authenticator()
        let ldap = Resource(kind: .ldap, name: "directory")
        func bind(_ user: String, _ factor: AppendedFactor) -> LoginAttempt {
            LoginAttempt(username: user, secret: "", delivery: .afterPrimary(factor, primary: .valid), resource: ldap, clientAddress: "192.0.2.9")
        }
        #expect(await mfa.authenticate(bind("alice", .code(code))) == .accept)
        #expect(await mfa.authenticate(bind("alice", .code(code))) == .reject(.replayedCode))
        // No challenge round trip over LDAP: a TOTP-only user must append the code.
        #expect(await mfa.authenticate(bind("alice", .none)) == .reject(.codeRequired))
        // A directory user the store does not know has no second factor.
        #expect(await mfa.authenticate(bind("zoe", .none)) == .reject(.noSecondFactor))
        #expect(await authenticator(allowUnenrolled: true).authenticate(bind("zoe", .none)) == .accept)
        #expect(audit.recorded.last?.type == .ldapBind)
    }

    @Test func repeatedFailuresLockTheUserEvenAgainstAValidCode() async {
        let mfa = authenticator(lockout: LockoutPolicy(maxFailures: 3, window: 900, duration: 900))
        let wrong = code == "000000" ? "111111" : "000000"
        #expect(await mfa.authenticate(attempt("alice", "nope,\(code)")) == .reject(.invalidCredentials))
        #expect(await mfa.authenticate(attempt("alice", "pw,\(wrong)")) == .reject(.invalidCode))
        #expect(await mfa.authenticate(attempt("alice", "pw,\(wrong)")) == .reject(.invalidCode))
        #expect(audit.recorded.filter { $0.type == .userLocked }.count == 1)
        #expect(await mfa.authenticate(attempt("alice", "pw,\(code)")) == .reject(.locked))
        #expect(audit.recorded.filter { $0.type == .userLocked }.count == 1)
        clock.advance(by: 901)
        #expect(await mfa.authenticate(attempt("alice", "pw,\(code)")) == .accept)
    }
}
