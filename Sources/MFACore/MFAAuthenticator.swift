import Foundation
import Logging

/// What the protocol front ends (RADIUS, LDAP, HTTP) ask for a verdict.
public protocol LoginAuthenticator: Sendable {
    func authenticate(_ attempt: LoginAttempt) async -> Verdict
}

/// The protocol-agnostic decision: primary check, then the second factor, then a verdict, with an audit event for
/// every decision. RADIUS, LDAP and the HTTP API all come through `authenticate(_:)`.
public final class MFAAuthenticator: LoginAuthenticator {
    public struct Policy: Sendable {
        /// Let users with no second factor in after the password.
        public var allowUnenrolled: Bool
        public var driftSteps: Int

        public init(allowUnenrolled: Bool = false, driftSteps: Int = 1) {
            self.allowUnenrolled = allowUnenrolled
            self.driftSteps = driftSteps
        }
    }

    public static let codePrompt = "Enter your verification code"

    private let store: any CredentialStore
    private let audit: any AuditSink
    private let hasher: PasswordHasher
    private let policy: Policy
    private let verifier: TOTPVerifier
    private let clock: any WallClock
    private let challenges: ChallengeBook
    private let logger: Logger

    public init(
        store: any CredentialStore, audit: any AuditSink, hasher: PasswordHasher = PasswordHasher(),
        policy: Policy = Policy(), clock: any WallClock = SystemWallClock(), challenges: ChallengeBook = ChallengeBook(),
        logger: Logger = Logger(label: "countersign.mfa")
    ) {
        self.store = store
        self.audit = audit
        self.hasher = hasher
        self.policy = policy
        self.verifier = TOTPVerifier(driftSteps: policy.driftSteps)
        self.clock = clock
        self.challenges = challenges
        self.logger = logger
    }

    public func authenticate(_ attempt: LoginAttempt) async -> Verdict {
        let verdict: Verdict
        var details: [String: String] = [:]
        do {
            verdict = try await decide(attempt, details: &details)
        } catch {
            logger.error("store failed during login", metadata: ["user": "\(attempt.username)", "error": "\(error)"])
            verdict = .reject(.unavailable)
        }
        await record(.login(attempt.resource.kind), attempt, verdict: verdict, details: details)
        return verdict
    }

    private func decide(_ attempt: LoginAttempt, details: inout [String: String]) async throws -> Verdict {
        let binding = ChallengeBook.Binding(username: attempt.username, resource: attempt.resource, clientAddress: attempt.clientAddress)
        if let state = attempt.challengeState {
            details["step"] = "challenge-response"
            guard challenges.redeem(state, for: binding, now: clock.now()) else { return .reject(.invalidState) }
            let credentials = try await store.credentials(for: attempt.username)
            return try await checkCode(attempt.secret, credentials: credentials, attempt)
        }

        switch attempt.delivery {
        case .secondFactorOnly:
            details["step"] = "code-only"
            let credentials = try await store.credentials(for: attempt.username)
            if let credentials, credentials.totp == nil {
                return policy.allowUnenrolled ? .accept : .reject(.noSecondFactor)
            }
            return try await checkCode(attempt.secret, credentials: credentials, attempt)

        case .appended, .challenge:
            let (password, factor): (String, AppendedFactor)
            if case .appended(let delimiter) = attempt.delivery {
                (password, factor) = AppendedFactor.split(attempt.secret, delimiter: delimiter)
            } else {
                (password, factor) = (attempt.secret, .none)
            }
            let credentials = try await store.credentials(for: attempt.username)
            guard hasher.verify(password, against: credentials?.passwordHash), let credentials else {
                return .reject(.invalidCredentials)
            }
            guard credentials.totp != nil else {
                return policy.allowUnenrolled ? .accept : .reject(.noSecondFactor)
            }
            switch factor {
            case .code(let code):
                details["step"] = "appended-code"
                return try await checkCode(code, credentials: credentials, attempt)
            case .push:
                return .reject(.pushUnavailable)
            case .none:
                details["step"] = "password"
                guard let state = challenges.issue(for: binding, now: clock.now()) else {
                    logger.warning("challenge book full; refusing new challenges")
                    return .reject(.unavailable)
                }
                return .challenge(prompt: Self.codePrompt, state: state)
            }
        }
    }

    private func checkCode(_ code: String, credentials: UserCredentials?, _ attempt: LoginAttempt) async throws -> Verdict {
        guard let credentials, let totp = credentials.totp else {
            // Unknown user or no TOTP: the same answer as a wrong code, and no factor event (there was no factor).
            return .reject(credentials == nil ? .invalidCode : .noSecondFactor)
        }
        let reason: RejectReason?
        if let step = verifier.matchingStep(code: code, secret: totp.secret, parameters: totp.parameters, at: clock.now()) {
            reason = try await store.recordAcceptedTOTPStep(step, for: credentials.username) ? nil : .replayedCode
        } else {
            reason = .invalidCode
        }
        let verdict: Verdict = reason.map { .reject($0) } ?? .accept
        await record(.totpAttempt, attempt, verdict: verdict, details: [:])
        return verdict
    }

    private func record(_ type: AuditEventType, _ attempt: LoginAttempt, verdict: Verdict, details: [String: String]) async {
        let result: AuditResult
        let error: String?
        switch verdict {
        case .accept: (result, error) = (.success, nil)
        case .reject(let reason): (result, error) = (.failure, reason.rawValue)
        case .challenge: (result, error) = (.challenge, nil)
        }
        await audit.record(
            AuditEvent(
                time: clock.now(), type: type, user: attempt.username, resource: attempt.resource.description,
                clientAddress: attempt.clientAddress, result: result, error: error, details: details))
    }
}
