import Crypto
import DeviceProtocol
import Foundation
import Logging

/// What the protocol front ends (RADIUS, LDAP, HTTP) ask for a verdict.
public protocol LoginAuthenticator: Sendable {
    /// Called by the front end as the request arrives, before any work is queued: binds the attempt to what is
    /// already under way for it (the pending push of the same attempt, which it then joins without a second
    /// password check).
    func attemptReceived(_ attempt: LoginAttempt) -> LoginAttempt
    func authenticate(_ attempt: LoginAttempt) async -> Verdict
    /// Called by a front end that waits for something else before it can ask for a decision (the LDAP proxy, for
    /// the directory's answer to the password), after the request arrived: reads what the decision will read, to
    /// be handed to it in `LoginAttempt.prepared`, and checks `code` (the factor that came with the password), so
    /// that the decision after the wait has nothing left to read or write. A valid code's step is recorded as used
    /// at once (`PreparedCredentials.reservedStep`): the decision gives it back unless it accepts, and a prepared
    /// read that never reaches a decision goes to `release`. Decides nothing and records no event; nil when the read
    /// failed.
    func prepare(for username: String, code: String?) async -> PreparedCredentials?
    /// What `prepare` read for an attempt that never reached its decision (the client left, the directory gave no
    /// verdict): a step it recorded for the attempt's code is given back.
    func release(_ prepared: PreparedCredentials) async
}

extension LoginAuthenticator {
    public func attemptReceived(_ attempt: LoginAttempt) -> LoginAttempt { attempt }
    public func prepare(for username: String, code: String?) async -> PreparedCredentials? { nil }
    public func release(_ prepared: PreparedCredentials) async {}
}

/// The protocol-agnostic decision: primary check, then the second factor, then a verdict, with an audit event for
/// every decision. RADIUS, LDAP and the HTTP API all come through `authenticate(_:)`.
public final class MFAAuthenticator: LoginAuthenticator {
    public struct Policy: Sendable {
        /// Let users with no second factor in after the password.
        public var allowUnenrolled: Bool
        public var driftSteps: Int
        /// When the device holds no connection and the user has TOTP: ask for the code instead of waiting.
        public var challengeWhenDeviceOffline: Bool
        public var lockout: LockoutPolicy
        /// RADIUS logins that would wait for a push get a challenge at once; after approving, the device shows a
        /// number, which the user types as the response (`push.number_matching`).
        public var numberMatching: Bool
        /// An Accept carries the user's local groups (read from the store only when some reply rule names a group).
        public var readsGroups: Bool

        public init(
            allowUnenrolled: Bool = false, driftSteps: Int = 1, challengeWhenDeviceOffline: Bool = true,
            lockout: LockoutPolicy = LockoutPolicy(), numberMatching: Bool = false, readsGroups: Bool = false
        ) {
            self.readsGroups = readsGroups
            self.numberMatching = numberMatching
            self.allowUnenrolled = allowUnenrolled
            self.driftSteps = driftSteps
            self.challengeWhenDeviceOffline = challengeWhenDeviceOffline
            self.lockout = lockout
        }
    }

    public static let codePrompt = "Enter your verification code"
    public static let numberPrompt = "Approve the sign-in on your device, then enter the number it shows"

    private let store: any CredentialStore
    private let audit: any AuditSink
    private let primary: any PrimaryVerifier
    private let policy: Policy
    private let verifier: TOTPVerifier
    private let clock: any WallClock
    private let challenges: ChallengeBook
    private let push: PushCoordinator?
    /// Where password checks wait their source's turn; nil: at once.
    private let work: LoginWorkQueue?
    /// A cluster's shared store, as the health check sees it: while it is out of reach logins are refused at once.
    private let availability: StoreAvailability?
    private let logger: Logger
    /// Keys the join key, so that no password can be recovered from it; shared by the nodes of a cluster.
    private let joinKeySalt: SymmetricKey
    /// The console's overrides of `policy.allowUnenrolled`.
    private let settings: GatewaySettingsCache?

    public init(
        store: any CredentialStore, audit: any AuditSink, primary: any PrimaryVerifier = LocalPasswordVerifier(),
        policy: Policy = Policy(), clock: any WallClock = SystemWallClock(), challenges: ChallengeBook = ChallengeBook(),
        joinKeySalt: SymmetricKey = SymmetricKey(size: .bits256), push: PushCoordinator? = nil, work: LoginWorkQueue? = nil,
        availability: StoreAvailability? = nil, settings: GatewaySettingsCache? = nil, logger: Logger = Logger(label: "countersign.mfa")
    ) {
        self.availability = availability
        self.settings = settings
        self.joinKeySalt = joinKeySalt
        self.push = push
        self.work = work
        self.store = store
        self.audit = audit
        self.primary = primary
        self.policy = policy
        self.verifier = TOTPVerifier(driftSteps: policy.driftSteps)
        self.clock = clock
        self.challenges = challenges
        self.logger = logger
    }

    /// Challenges issued and not yet redeemed (for tests).
    var outstandingChallenges: Int { (challenges.store as? MemoryChallengeStore)?.count ?? 0 }

    /// What `decide` leaves to do: nothing (a verdict), or the push, waited for once `decide` has returned.
    private enum Decision {
        case verdict(Verdict)
        case push(UserCredentials)
    }

    // The push wait can last a minute, for thousands of logins at once (BENCHMARKS.md, push at scale), and every
    // async function under way keeps its frame until it returns: so the wait happens with only small frames live.
    // `decide` returns before it, and the work around it is in functions of their own (`@inline(never)`, or the
    // compiler merges their locals into the waiting frame).
    public func authenticate(_ attempt: LoginAttempt) async -> Verdict {
        var details: [String: String] = [:]
        details.reserveCapacity(4)  // two or three a login: one allocation, not a resize per insert
        var failuresToClear = true
        var grant = Grant()
        var verdict: Verdict
        if let joined = attempt.joinedPush {
            verdict = await pushOutcome(await joined.result(), deviceID: nil, attempt, details: &details)
        } else if let availability, !availability.isAvailable {
            // Never accepted without the store: rejected now, not after a timeout.
            verdict = .reject(.unavailable)
        } else {
            do {
                switch try await decide(attempt, details: &details, failuresToClear: &failuresToClear, grant: &grant) {
                case .verdict(let decided): verdict = decided
                case .push(let credentials): verdict = try await pushFactor(credentials, attempt, details: &details, grant: grant)
                }
            } catch {
                verdict = storeFailed(attempt, error)
            }
        }
        // Shed work is no decision: no event, no count; the source gets its token back.
        if case .dropped = verdict {
            attempt.admission?.ended(failed: false)
            return verdict
        }
        if case .accept = verdict { verdict = await accepted(attempt, grant) }
        await conclude(attempt, verdict: verdict, details: details, failuresToClear: failuresToClear)
        // Counted before the reply leaves, so that the source's next request already sees it.
        attempt.admission?.ended(failed: verdict.isFailedAttempt)
        return verdict
    }

    /// The user's credentials for the attempt to come (and into the store's cache), and its code checked; a failed
    /// read is the decision's to meet.
    public func prepare(for username: String, code: String?) async -> PreparedCredentials? {
        guard !username.utf8.contains(0) else { return nil }
        let credentials: UserCredentials?
        do {
            credentials = try await store.credentials(for: username)
        } catch {
            return nil
        }
        return PreparedCredentials(username: username, credentials: credentials, code: await checkAhead(code, credentials))
    }

    /// The code's step is recorded while the password is still being checked: the decision after the check then
    /// commits nothing before its reply. The price: the same code in a second bind meanwhile is refused as used,
    /// even when the first bind's password then turns out wrong (its step is given back only then), and the answer to
    /// a wrong password comes a commit later when the code was valid — which tells nothing without the password, and
    /// each such try counts towards the user's lockout. A locked user's code is not looked at (the decision refuses
    /// whatever comes); a failed write leaves the check to the decision.
    @inline(never)
    private func checkAhead(_ code: String?, _ credentials: UserCredentials?) async -> PreparedCode? {
        guard let code, let credentials, let totp = credentials.totp, !isLocked(credentials) else { return nil }
        do {
            return PreparedCode(code: code, outcome: try await verifyAndRecord(code, totp, for: credentials.username))
        } catch {
            return nil
        }
    }

    /// The code against the steps around now; a match's step recorded as used, atomically (no code is accepted twice).
    private func verifyAndRecord(_ code: String, _ totp: TOTPEnrollment, for username: String) async throws -> PreparedCode.Outcome {
        guard let step = verifier.matchingStep(code: code, secret: totp.secret, parameters: totp.parameters, at: clock.now())
        else { return .invalid }
        return try await store.recordAcceptedTOTPStep(step, for: username) ? .reserved(step: step) : .replayed
    }

    public func release(_ prepared: PreparedCredentials) async {
        guard let username = prepared.credentials?.username, let step = prepared.takeReservedStep() else { return }
        do {
            try await store.releaseTOTPStep(step, for: username)
        } catch {
            // Safe either way: the code stays used, and the user waits for the next one.
            logger.error("store failed while giving back a code's step", metadata: ["user": "\(username)", "error": "\(error)"])
        }
    }

    private func isLocked(_ credentials: UserCredentials) -> Bool {
        credentials.lockedUntil.map { $0 > clock.now() } ?? false
    }

    /// The same attempt as a pending push's (same resource, user, session and password: the join key) joins it as it
    /// arrives, and needs no password check of its own: the push exists because that password passed.
    public func attemptReceived(_ attempt: LoginAttempt) -> LoginAttempt {
        guard let push, attempt.challengeState == nil, push.pendingCount > 0 else { return attempt }
        if case .afterPrimary(_, let primary) = attempt.delivery, !primary.isValid { return attempt }
        guard let key = joinKey(attempt), let join = push.joinPending(joinKey: key) else { return attempt }
        var joined = attempt
        joined.joinedPush = join
        return joined
    }

    /// The Accept's grant: what the primary check granted, and the user's local groups when reply rules want them.
    @inline(never)
    private func accepted(_ attempt: LoginAttempt, _ grant: Grant) async -> Verdict {
        guard policy.readsGroups else { return .accept(grant) }
        do {
            return .accept(grant.adding(groups: try await store.groups(of: attempt.username)))
        } catch {
            // The password and factor passed: the Accept goes out, without the groups' attributes.
            logger.error("store failed while reading groups", metadata: ["user": "\(attempt.username)", "error": "\(error)"])
            return .accept(grant)
        }
    }

    @inline(never)
    private func storeFailed(_ attempt: LoginAttempt, _ error: any Error) -> Verdict {
        logger.error("store failed during login", metadata: ["user": "\(attempt.username)", "error": "\(error)"])
        return .reject(.unavailable)
    }

    @inline(never)
    private func conclude(_ attempt: LoginAttempt, verdict: Verdict, details: [String: String], failuresToClear: Bool) async {
        // A step recorded for the code and not accepted with (a wrong password, a lock) is given back before the
        // reply, so that the user's retry with the same code finds it unused. (Here, not in `authenticate`, whose
        // frame a login waiting for a push keeps. A dropped attempt holds none: drops come before any code check.)
        if let prepared = attempt.prepared { await release(prepared) }
        // A push can wait for a minute, while other attempts fail: after one, the record read at the start is stale.
        await countTowardsLockout(attempt, verdict: verdict, failuresToClear: failuresToClear || details["push_id"] != nil)
        await record(.login(attempt.resource.kind), attempt, verdict: verdict, details: details)
    }

    /// Consecutive failed passwords and factors lock the user (`[lockout]`); a success starts the count again.
    /// `failuresToClear` is false when the user's record showed no failures and no lock: then a success writes nothing.
    @inline(never)
    private func countTowardsLockout(_ attempt: LoginAttempt, verdict: Verdict, failuresToClear: Bool) async {
        do {
            switch verdict {
            case .accept:
                if failuresToClear { try await store.clearFailures(for: attempt.username) }
            case .reject(let reason) where reason.isFailedAttempt:
                if try await store.recordFailure(for: attempt.username, now: clock.now(), policy: policy.lockout) {
                    logger.warning("user locked after repeated failures", metadata: ["user": "\(attempt.username)"])
                    await record(
                        .userLocked, attempt, result: .failure, error: "too_many_failures",
                        details: ["duration": "\(Int(policy.lockout.duration))"])
                }
            case .reject, .challenge, .dropped:
                break
            }
        } catch {
            logger.error("store failed while counting failures", metadata: ["user": "\(attempt.username)", "error": "\(error)"])
        }
    }

    /// What the login needs next, decided without waiting for anything (`plan`, `planAfterPassword`).
    private enum Step {
        case verdict(Verdict)
        case code(String)
        case push(UserCredentials)
        /// Number matching: the number the user typed for this push.
        case number(pushID: String, typed: String)
        /// The password is checked first (`primary`); then `planAfterPassword` with the appended factor.
        case password(String, AppendedFactor)
        /// A challenge response: its State is taken first (`redeem`), which says what answers it.
        case redeem([UInt8])
        /// The password passed and a code is wanted: an Access-Challenge with a new State.
        case codeChallenge
        /// The response to the primary check's own question, with the State it gave.
        case primaryAnswer([UInt8])
    }

    /// The waits of a decision (the store read, the password check, the code's record), with the logic between
    /// them in synchronous functions: their locals stay on the thread's stack instead of in this task's async frame,
    /// which a waiting login keeps for as long as it waits.
    private func decide(
        _ attempt: LoginAttempt, details: inout [String: String], failuresToClear: inout Bool, grant: inout Grant
    ) async throws -> Decision {
        // SQLite gets names as C strings, so "alice\0anything" would find alice's credentials. No user name holds a NUL
        // (RFC 2865 §5: RADIUS text carries no terminator; an LDAP DN or JSON string with one names nobody here).
        guard !attempt.username.utf8.contains(0) else { return .verdict(.reject(.invalidCredentials)) }
        let credentials = try await credentials(for: attempt)
        failuresToClear = credentials.map { $0.failedAttempts > 0 || $0.lockedUntil != nil } ?? false
        // Read again at most once a second; `unenrolled()` below takes what this read.
        _ = await settings?.current()
        var step = plan(attempt, credentials, details: &details)
        if case .redeem(let state) = step {
            step = try await redeem(state, attempt, grant: &grant)
        }
        let primary = self.primary
        switch step {
        case .password(let password, let factor):
            step = try await checkPassword(then: factor, attempt, credentials, details: &details, grant: &grant) {
                await primary.verify(username: attempt.username, password: password, credentials: credentials)
            }
        case .primaryAnswer(let state):
            step = try await checkPassword(then: .none, attempt, credentials, details: &details, grant: &grant) {
                await primary.answer(username: attempt.username, response: attempt.secret, state: state, credentials: credentials)
            }
        default:
            break
        }
        switch step {
        case .verdict(let verdict): return .verdict(verdict)
        case .code(let code):
            // One audit row per login: the login's event says which factor decided it.
            details["factor"] = "totp"
            return .verdict(try await checkCode(code, credentials: credentials, attempt))
        case .number(let pushID, let typed): return .verdict(await checkNumber(typed, pushID: pushID, attempt, details: &details))
        case .push(let credentials): return .push(credentials)
        case .codeChallenge: return .verdict(try await codeChallenge(attempt, grant: grant))
        case .password, .redeem, .primaryAnswer: return .verdict(.reject(.unavailable))  // asked for once only
        }
    }

    /// What `prepare` read for the attempt, else a read now.
    @inline(never)
    private func credentials(for attempt: LoginAttempt) async throws -> UserCredentials? {
        if let prepared = attempt.prepared, prepared.username == attempt.username { return prepared.credentials }
        return try await store.credentials(for: attempt.username, received: attempt.received)
    }

    @inline(never)
    private func plan(_ attempt: LoginAttempt, _ credentials: UserCredentials?, details: inout [String: String]) -> Step {
        // Locked: refused whatever comes, a valid code included, and no push goes out.
        if let credentials, let until = credentials.lockedUntil, isLocked(credentials) {
            details["locked_until"] = "\(Int(until.timeIntervalSince1970))"
            return .verdict(.reject(.locked))
        }
        if let state = attempt.challengeState {
            details["step"] = "challenge-response"
            return .redeem(state)
        }

        switch attempt.delivery {
        case .afterPrimary(let factor, let primary):
            // The directory has checked the password (LDAP bind); only the second factor is left. No challenge
            // round trip exists here, so the code comes appended or the user gets a push.
            details["step"] = "after-primary"
            switch primary {
            case .valid: break
            case .invalid: return .verdict(.reject(.invalidCredentials))
            case .unavailable, .challenge: return .verdict(.reject(.unavailable))  // a bind has no second round
            }
            guard let credentials, credentials.totp != nil || credentials.device != nil
            else { return .verdict(unenrolled()) }
            switch factor {
            case .code(let code): return .code(code)
            case .push: return .push(credentials)
            case .none:
                if credentials.device != nil { return .push(credentials) }
                return .verdict(.reject(.codeRequired))
            }

        case .secondFactorOnly:
            details["step"] = "code-only"
            if attempt.secret == "push", let credentials {
                return .push(credentials)
            }
            if let credentials, credentials.totp == nil {
                return credentials.device != nil ? .push(credentials) : .verdict(unenrolled())
            }
            return .code(attempt.secret)

        case .appended(let delimiter):
            let (password, factor) = AppendedFactor.split(attempt.secret, delimiter: delimiter)
            return .password(password, factor)
        case .challenge:
            return .password(attempt.secret, .none)
        }
    }

    /// The primary check (`check`: the password, or the answer to the primary's own question), then what follows it.
    @inline(never)
    private func checkPassword(
        then factor: AppendedFactor, _ attempt: LoginAttempt, _ credentials: UserCredentials?, details: inout [String: String],
        grant: inout Grant, _ check: () async -> PrimaryVerdict
    ) async throws -> Step {
        let verdict: PrimaryVerdict
        if let work {
            // Hashes wait their client's turn: one client's backlog never holds up another's logins.
            switch await work.run(source: attempt.resource.description, arrived: attempt.arrived ?? clock.now(), check) {
            case .success(let checked): verdict = checked
            case .failure(let reason): return .verdict(.dropped(reason))
            }
        } else {
            verdict = await check()
        }
        switch verdict {
        case .valid(let granted):
            grant = granted
            return planAfterPassword(factor, attempt, credentials, details: &details)
        case .invalid: return .verdict(.reject(.invalidCredentials))
        case .unavailable: return .verdict(.reject(.unavailable))
        case .challenge(let prompt, let primaryState):
            // Relayed with the primary's words unchanged; the answer goes back to it with its State.
            details["step"] = "primary-challenge"
            guard let state = try await challenges.issue(for: ChallengeBook.Binding(attempt), now: clock.now(), primaryState: primaryState)
            else { return .verdict(challengeBookFull()) }
            return .verdict(.challenge(prompt: prompt, state: state))
        }
    }

    @inline(never)
    private func planAfterPassword(
        _ factor: AppendedFactor, _ attempt: LoginAttempt, _ credentials: UserCredentials?, details: inout [String: String]
    ) -> Step {
        // A directory user unknown to the store has no second factor here.
        guard let credentials, credentials.totp != nil || credentials.device != nil else { return .verdict(unenrolled()) }
        switch factor {
        case .code(let code):
            details["step"] = "appended-code"
            return .code(code)
        case .push:
            details["step"] = "appended-push"
            return .push(credentials)
        case .none:
            details["step"] = "password"
            // Push by default; the code instead when the device is offline (and the policy says so), or when
            // the client asked for the challenge round trip and the user has TOTP.
            if let device = credentials.device, !(attempt.delivery == .challenge && credentials.totp != nil),
                !(credentials.totp != nil && policy.challengeWhenDeviceOffline && !(push?.isConnected(deviceID: device.id) ?? false))
            {
                return .push(credentials)
            }
            guard credentials.totp != nil else { return .push(credentials) }
            return .codeChallenge
        }
    }

    /// What a challenge's State was issued for, and the grant of the password check before it; used up either way
    /// (a State works once, on any node).
    @inline(never)
    private func redeem(_ state: [UInt8], _ attempt: LoginAttempt, grant: inout Grant) async throws -> Step {
        guard let redemption = try await challenges.redeem(state, for: ChallengeBook.Binding(attempt), now: clock.now())
        else { return .verdict(.reject(.invalidState)) }
        grant = redemption.grant
        return switch redemption.answer {
        case .code: .code(attempt.secret)
        case .number(let pushID): .number(pushID: pushID, typed: attempt.secret)
        case .primary(let state): .primaryAnswer(state)
        }
    }

    @inline(never)
    private func codeChallenge(_ attempt: LoginAttempt, grant: Grant) async throws -> Verdict {
        guard let state = try await challenges.issue(for: ChallengeBook.Binding(attempt), now: clock.now(), grant: grant) else {
            return challengeBookFull()
        }
        return .challenge(prompt: Self.codePrompt, state: state)
    }

    private func challengeBookFull() -> Verdict {
        logger.warning("challenge book full; refusing new challenges")
        return .reject(.unavailable)
    }

    private func unenrolled() -> Verdict {
        (settings?.latest.allowUnenrolled ?? policy.allowUnenrolled) ? .accept : .reject(.noSecondFactor)
    }

    /// Pushes to the user's device and waits; push events are written by the login that created the push.
    private func pushFactor(
        _ credentials: UserCredentials, _ attempt: LoginAttempt, details: inout [String: String], grant: Grant
    ) async throws -> Verdict {
        guard let device = credentials.device, let push, try await store.isPushEnabled() else { return .reject(.pushUnavailable) }
        if policy.numberMatching, attempt.resource.kind == .radius {
            return try await numberChallenge(push, device: device, attempt, details: &details, grant: grant)
        }
        // Waiting costs nothing: the source's failure bucket gets its token back for the wait (a deny takes one).
        attempt.admission?.waiting()
        let result = await push.push(
            username: credentials.username, device: device, resource: attempt.resource, clientAddress: attempt.clientAddress,
            callingStationID: Self.callingStationID(attempt), joinKey: joinKey(attempt))
        return await pushOutcome(result, deviceID: device.id, attempt, details: &details)
    }

    /// What the device shows as where the user is: RADIUS's Calling-Station-Id (the session hint of a RADIUS login).
    static func callingStationID(_ attempt: LoginAttempt) -> String? {
        attempt.resource.kind == .radius ? attempt.sessionHint.flatMap { $0.isEmpty ? nil : $0 } : nil
    }

    /// The verdict and the push events for an answered (or limited, timed out) push.
    @inline(never)
    private func pushOutcome(
        _ result: PushCoordinator.Result, deviceID: String?, _ attempt: LoginAttempt, details: inout [String: String]
    ) async -> Verdict {
        if let id = result.pushID { details["push_id"] = id }
        if !result.created, result.outcome != .limited { details["joined_push"] = "true" }
        let verdict: Verdict
        let event: (AuditEventType, AuditResult, String?)
        switch result.outcome {
        case .approved: (verdict, event) = (.accept, (.pushApproved, .success, nil))
        case .denied: (verdict, event) = (.reject(.pushDenied), (.pushDenied, .failure, "denied"))
        case .timedOut: (verdict, event) = (.reject(.pushTimeout), (.pushTimeout, .failure, "timeout"))
        case .cancelled: (verdict, event) = (.reject(.unavailable), (.pushTimeout, .failure, "shutdown"))
        case .limited: (verdict, event) = (.reject(.pushLimited), (.pushAttemptFailed, .failure, PushLimiter.refusal))
        }
        if result.created {
            await record(.pushAttempt, attempt, result: .success, error: nil, details: ["push_id": result.pushID ?? "", "device_id": deviceID ?? ""])
        }
        if result.created || result.outcome == .limited {
            await record(event.0, attempt, result: event.1, error: event.2, details: result.pushID.map { ["push_id": $0] } ?? [:])
        }
        return verdict
    }

    /// Number matching, the first round: the push goes out, and the login answers at once with a challenge whose
    /// State names the push.
    @inline(never)
    private func numberChallenge(
        _ push: PushCoordinator, device: EnrolledDevice, _ attempt: LoginAttempt, details: inout [String: String], grant: Grant
    ) async throws -> Verdict {
        guard let pushID = await push.pushForNumber(
            username: attempt.username, device: device, resource: attempt.resource, clientAddress: attempt.clientAddress,
            callingStationID: Self.callingStationID(attempt))
        else {
            await record(.pushAttemptFailed, attempt, result: .failure, error: PushLimiter.refusal, details: [:])
            return .reject(.pushLimited)
        }
        details["push_id"] = pushID
        await record(.pushAttempt, attempt, result: .success, error: nil, details: ["push_id": pushID, "device_id": device.id])
        guard let state = try await challenges.issue(for: ChallengeBook.Binding(attempt), now: clock.now(), pushID: pushID, grant: grant)
        else { return challengeBookFull() }
        return .challenge(prompt: Self.numberPrompt, state: state)
    }

    /// Number matching, the response: Accept only when the device approved the push and the number is the one it
    /// showed. Waits while the push is pending.
    @inline(never)
    private func checkNumber(_ typed: String, pushID: String, _ attempt: LoginAttempt, details: inout [String: String]) async -> Verdict {
        guard let push else { return .reject(.pushUnavailable) }
        details["push_id"] = pushID
        attempt.admission?.waiting()
        let (outcome, number) = await push.claim(pushID: pushID)
        let verdict: Verdict
        switch outcome {
        case .approved:
            let matches = number.map { ConstantTime.equals(Array($0.utf8), Array(typed.utf8)) } ?? false
            verdict = matches ? .accept : .reject(.wrongNumber)
            await record(.pushApproved, attempt, result: .success, error: nil, details: ["push_id": pushID])
        case .denied:
            verdict = .reject(.pushDenied)
            await record(.pushDenied, attempt, result: .failure, error: "denied", details: ["push_id": pushID])
        case .timedOut, .limited:
            verdict = .reject(.pushTimeout)
            await record(.pushTimeout, attempt, result: .failure, error: "timeout", details: ["push_id": pushID])
        case .cancelled:
            verdict = .reject(.unavailable)
            await record(.pushTimeout, attempt, result: .failure, error: "shutdown", details: ["push_id": pushID])
        }
        return verdict
    }

    /// Same client, user, session and password → the same attempt (design.md, RADIUS step 3). Only for RADIUS and
    /// LDAP, whose clients resend; a second auth-API call is a second attempt, for the push limiter to judge.
    private func joinKey(_ attempt: LoginAttempt) -> String? {
        guard attempt.resource.kind != .api else { return nil }
        let material = SignedMessage.bytes(
            domain: "countersign/join-key/v1",
            fields: [attempt.resource.description, attempt.username, attempt.sessionHint ?? "", attempt.secret])
        return Data(HMAC<SHA256>.authenticationCode(for: material, using: joinKeySalt)).base64EncodedString()
    }

    @inline(never)
    private func checkCode(_ code: String, credentials: UserCredentials?, _ attempt: LoginAttempt) async throws -> Verdict {
        guard let credentials, let totp = credentials.totp else {
            // Unknown user or no TOTP: the same answer as a wrong code, and no factor event (there was no factor).
            return .reject(credentials == nil ? .invalidCode : .noSecondFactor)
        }
        // Checked with the prepared read: its outcome stands (ordered at the read, as the credentials are).
        let outcome: PreparedCode.Outcome
        if let prepared = attempt.prepared?.outcome(of: code, for: attempt.username) {
            outcome = prepared
        } else {
            outcome = try await verifyAndRecord(code, totp, for: credentials.username)
        }
        switch outcome {
        case .reserved: return .accept
        case .replayed: return .reject(.replayedCode)
        case .invalid: return .reject(.invalidCode)
        }
    }

    @inline(never)
    private func record(_ type: AuditEventType, _ attempt: LoginAttempt, verdict: Verdict, details: [String: String]) async {
        switch verdict {
        case .accept: await record(type, attempt, result: .success, error: nil, details: details)
        case .reject(let reason): await record(type, attempt, result: .failure, error: reason.rawValue, details: details)
        case .challenge: await record(type, attempt, result: .challenge, error: nil, details: details)
        case .dropped: break
        }
    }

    @inline(never)
    private func record(_ type: AuditEventType, _ attempt: LoginAttempt, result: AuditResult, error: String?, details: [String: String]) async {
        await audit.record(
            AuditEvent(
                time: clock.now(), type: type, user: attempt.username, resource: attempt.resource.description,
                clientAddress: attempt.clientAddress, result: result, error: error, details: details))
    }
}
