import Foundation

/// What is being logged in to: the event names and the challenge binding depend on it.
public struct Resource: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case radius, ldap, api
        /// The user portal's sign-in (`/portal`): its failures count towards lockout like any other.
        case portal
    }

    public var kind: Kind
    /// The client or application name from the configuration.
    public var name: String

    public init(kind: Kind, name: String) {
        self.kind = kind
        self.name = name
    }

    public var description: String { "\(kind.rawValue):\(name)" }
}

/// How the client delivers the second factor.
public enum FactorDelivery: Sendable, Hashable {
    /// The password, optionally followed by the delimiter and a factor (`secret,123456`, `secret,push`).
    case appended(delimiter: Character)
    /// The password alone; the code comes in a second round trip (Access-Challenge).
    case challenge
    /// The client checks the password elsewhere; what it sends is the code alone.
    case secondFactorOnly
    /// The password was checked already, by the directory the LDAP bind went to: its verdict, and the factor that was
    /// appended to the password. A refusal comes here too, so that it counts like any other failed attempt.
    case afterPrimary(AppendedFactor, primary: PrimaryVerdict)
}

/// One login as the protocol front end hands it to the MFA core.
public struct LoginAttempt: Sendable {
    public var username: String
    /// What the user typed (User-Password, bind password).
    public var secret: String
    public var delivery: FactorDelivery
    public var resource: Resource
    /// The address the request came from (the NAS for RADIUS).
    public var clientAddress: String
    /// The State a client sends back in answer to a challenge.
    public var challengeState: [UInt8]?
    /// What tells one login session from another beyond user and password (RADIUS: Calling-Station-Id), so that
    /// the same attempt arriving twice joins one push.
    public var sessionHint: String?
    /// When the request reached the server: work on it that has not begun `FairQueueSettings.maximumWait` later is
    /// dropped. Nil: when the core first sees it.
    public var arrived: Date?
    /// When the attempt was made from its request: the credentials it reads are at least this fresh.
    public let received: ContinuousClock.Instant
    /// The token the attempt holds in its source's failure bucket, ended by the core with the verdict.
    public var admission: AdmissionTicket?
    /// The pending push the same attempt started before, joined on arrival (`LoginAuthenticator.attemptReceived`).
    public var joinedPush: PushJoin?
    /// What the core read for this attempt while the front end waited for something else
    /// (`LoginAuthenticator.prepare`): the decision takes it instead of reading again.
    public var prepared: PreparedCredentials?

    public init(
        username: String, secret: String, delivery: FactorDelivery, resource: Resource,
        clientAddress: String, challengeState: [UInt8]? = nil, sessionHint: String? = nil, arrived: Date? = nil,
        admission: AdmissionTicket? = nil, prepared: PreparedCredentials? = nil
    ) {
        self.arrived = arrived
        self.received = .now
        self.admission = admission
        self.sessionHint = sessionHint
        self.username = username
        self.secret = secret
        self.delivery = delivery
        self.resource = resource
        self.clientAddress = clientAddress
        self.challengeState = challengeState
        self.prepared = prepared
    }
}

/// A user's credentials, secret opened, as read by `LoginAuthenticator.prepare` for one attempt whose request had
/// arrived before the read began: every change committed before the request is in it, so its decision needs neither
/// a read nor a look for changes (it is ordered as if decided when the read was made). Good for that attempt only, and
/// dropped with it, so that no secret waits opened between logins. A class: a login waiting for a push keeps copies
/// of its attempt in its frames, so the attempt grows by a reference only.
public final class PreparedCredentials: Sendable {
    public let username: String
    /// Nil: the user does not exist.
    let credentials: UserCredentials?
    /// The attempt's code, checked with the read; nil when none came or it was not looked at (a locked user, no TOTP,
    /// a failed write).
    let code: PreparedCode?

    /// The step recorded as used for this attempt's code, until the decision accepts with it or it is given back:
    /// taken once only, because a step given back after an Accept would let its code in again.
    private let reservation: Locked<Int64?>?

    init(username: String, credentials: UserCredentials?, code: PreparedCode? = nil) {
        self.username = username
        self.credentials = credentials
        self.code = code
        if case .reserved(let step) = code?.outcome { reservation = Locked(step) } else { reservation = nil }
    }

    /// A step recorded for this attempt and neither used nor given back yet (`LoginAuthenticator.release`).
    public var reservedStep: Int64? { reservation?.withLock { $0 } }

    /// What the check made with the read says of `code` in `username`'s attempt; nil when it checked another code or
    /// user, or when its reserved step was taken already (the code is then checked as new). A reserved outcome takes
    /// the step: the Accept has it.
    func outcome(of code: String, for username: String) -> PreparedCode.Outcome? {
        guard username == self.username, let checked = self.code, checked.code == code else { return nil }
        if case .reserved = checked.outcome, takeReservedStep() == nil { return nil }
        return checked.outcome
    }

    /// The reserved step, for the one who accepts with it or gives it back; nil for everyone after.
    func takeReservedStep() -> Int64? {
        reservation?.withLock { step in
            defer { step = nil }
            return step
        }
    }
}

/// A code checked before the attempt's decision, while the front end waited for the password's check.
struct PreparedCode: Sendable {
    enum Outcome: Sendable, Equatable {
        /// Valid, and its step is recorded as used, for this attempt only.
        case reserved(step: Int64)
        case replayed
        case invalid
    }

    var code: String
    var outcome: Outcome
}

/// The MFA core's answer.
public enum Verdict: Sendable, Equatable {
    /// Accepted; the grant's groups and attributes shape the reply (RADIUS reply rules).
    case accept(Grant)
    case reject(RejectReason)
    /// Ask for the code; the client sends `state` back with it.
    case challenge(prompt: String, state: [UInt8])
    /// Not decided, and not to be answered (RADIUS) or answered as busy: the server shed the work.
    case dropped(DropReason)

    /// Accepted, with nothing to add to the reply.
    public static var accept: Verdict { .accept(Grant()) }

    /// A wrong password, code or push answer: what counts towards lockout and a source's failure bucket.
    public var isFailedAttempt: Bool {
        if case .reject(let reason) = self { return reason.isFailedAttempt }
        return false
    }
}

public enum RejectReason: String, Sendable, Equatable {
    /// Unknown user or wrong password: one answer for both, so that nobody learns which users exist.
    case invalidCredentials = "invalid_credentials"
    case invalidCode = "invalid_code"
    case replayedCode = "replayed_code"
    case noSecondFactor = "no_second_factor"
    case pushUnavailable = "push_unavailable"
    case pushDenied = "push_denied"
    case pushTimeout = "push_timeout"
    case pushLimited = "push_limited"
    case codeRequired = "code_required"
    case locked = "locked"
    case invalidState = "invalid_state"
    case unavailable = "unavailable"
    /// Number matching: the push was approved, but the number typed is not the one the device showed.
    case wrongNumber = "wrong_number"

    /// A wrong password, code or push answer: what counts towards a user's lockout and a client's failure rate limit.
    public var isFailedAttempt: Bool {
        switch self {
        case .invalidCredentials, .invalidCode, .replayedCode, .pushDenied, .wrongNumber: true
        case .noSecondFactor, .pushUnavailable, .pushTimeout, .pushLimited, .codeRequired, .locked, .invalidState, .unavailable:
            false
        }
    }

    /// For the user (Reply-Message, diagnostic message): says why without helping an attacker.
    public var userMessage: String {
        switch self {
        case .invalidCredentials: "Wrong username or password"
        case .invalidCode, .replayedCode: "Invalid verification code"
        case .noSecondFactor: "No second factor enrolled"
        case .pushUnavailable: "Push is not available for this account"
        case .pushDenied: "Push denied"
        case .pushTimeout: "Push timed out"
        case .pushLimited: PushLimiter.refusal
        case .codeRequired: "Append your verification code to the password"
        case .locked: "Account locked after too many failed attempts, try again later"
        case .invalidState: "Verification expired, log in again"
        case .wrongNumber: "Wrong number"
        case .unavailable: "Authentication service unavailable, try again later"
        }
    }
}

/// The factor a user appended to the password.
public enum AppendedFactor: Sendable, Hashable {
    case none
    case code(String)
    case push

    /// Splits at the last delimiter. When the suffix is no factor (6–8 digits, or `push`), the whole input is the password.
    public static func split(_ input: String, delimiter: Character) -> (password: String, factor: AppendedFactor) {
        guard let index = input.lastIndex(of: delimiter) else { return (input, .none) }
        let suffix = input[input.index(after: index)...]
        let password = String(input[..<index])
        if suffix == "push" { return (password, .push) }
        if (6...8).contains(suffix.utf8.count), suffix.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            return (password, .code(String(suffix)))
        }
        return (input, .none)
    }
}
