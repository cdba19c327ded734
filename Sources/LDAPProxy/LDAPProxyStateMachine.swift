import Foundation
import LDAPCodec
import MFACore
import ServerSupport

/// One application connection without I/O: client frames, directory frames and the MFA core's verdicts in, what to
/// send where (and what to ask the core) out.
///
/// Binds are intercepted: the directory checks the password without the appended factor, then the MFA core gets
/// the directory's verdict, valid or not (so that a wrong password counts towards the user's lockout), and only
/// its verdict reaches the client. Everything else passes through to this connection's own directory connection,
/// message IDs unchanged.
struct LDAPProxyStateMachine {
    struct Configuration {
        var policy: LDAPBindPolicy
        var resource: Resource
        /// StartTLS can be offered: a certificate is configured.
        var startTLSAvailable: Bool
    }

    indirect enum Action {
        case none
        /// Write to the client.
        case send([UInt8])
        /// Write to the directory connection, which is open.
        case sendUpstream([[UInt8]])
        /// Open the directory connection; what is to go there waits here until `upstreamConnected` or `upstreamFailed`.
        case connectUpstream
        /// Hand the attempt to the MFA core (after `LoginAuthenticator.attemptReceived`); then `verdictReached`.
        case decide(LoginAttempt)
        /// Let the MFA core read the user's credentials and check the appended code while the directory checks the
        /// password (`LoginAuthenticator.prepare`), then `then`; what it read goes to `credentialsPrepared` with
        /// `bind`, and on to the decision after the directory's answer.
        case prepare(username: String, code: String?, bind: UInt64, then: Action)
        /// What the core prepared for a bind that will not be decided: the step it recorded for the bind's code goes
        /// back (`LoginAuthenticator.release`); then `then`.
        case release(PreparedCredentials, then: Action)
        /// Store the event, then `eventRecorded`: the answer goes out after its event, as a verdict does.
        case record(AuditEvent)
        /// Close the directory connection, which acts as the user the core refused, then write the answer.
        case dropUpstreamAndSend([UInt8])
        /// Write the StartTLS answer, then put TLS in front of everything after it, then `startTLSWritten`
        /// (RFC 4511 §4.14.2).
        case startTLS([UInt8])
        /// RFC 4511 §4.3: pass the unbind on when the directory connection is open, then close; no response.
        case unbind(forward: [UInt8]?)
        /// RFC 4511 §4.4.1: a Notice of Disconnection, then close.
        case disconnect(LDAPResultCode, String)
        /// Close the client connection (the directory closed its own).
        case close
        /// Close the directory connection (the client's is gone).
        case dropUpstream
    }

    private enum State {
        /// No bind under way: operations pass.
        case ready
        /// An intercepted bind: the directory checks the password, and the core reads and checks the code.
        case awaitingDirectory(PendingBind)
        /// The MFA core decides. `directoryBound`: the directory took the password, so its connection acts as the user.
        case deciding(messageID: Int32, directoryBound: Bool)
        /// A bind answered here; its event is being stored, then `response` goes out.
        case recording(response: [UInt8])
        /// StartTLS answered; TLS goes in once the answer is written.
        case startingTLS
        /// Closing or closed. `verdictPending`: the core still decides one of its binds, which is in flight until then.
        case closed(verdictPending: Bool)
    }

    private struct PendingBind {
        /// Which of the connection's binds: what was prepared for an earlier one is not this one's.
        var number: UInt64
        var messageID: Int32
        var username: String
        var factor: AppendedFactor
        var admission: AdmissionTicket?
        /// The core's read is under way: the directory's answer waits for it (`held`), because the read may
        /// record the code's step, which the decision must see as this bind's, not as a code used before.
        var preparing = true
        var prepared: PreparedCredentials?
        /// The directory's answer, while `preparing`.
        var answer: (code: LDAPResultCode, frame: [UInt8])?
    }

    private enum Upstream {
        case none
        case connecting(queued: [[UInt8]])
        case connected
    }

    /// RFC 4511 §4.2.1: clients send nothing during a bind; what comes anyway waits for its end, this much of it.
    static let maximumHeld = 16
    /// Operations waiting for the directory connection to open.
    static let maximumQueued = 64
    static let rateLimitedMessage = "Too many failed attempts, try again later"

    private let configuration: Configuration
    private let clientAddress: String
    private let failureLimits: LDAPClientFailureLimits?
    private let inFlight: InFlightRequests
    /// Hears of binds refused undecided while the address is limited (`rate_limited`, under the resource: the
    /// report keeps a tally per name, and addresses are not a bounded set).
    private let drops: DropReport?
    private let clock: any WallClock
    private var state = State.ready
    private var upstream = Upstream.none
    private var held: [[UInt8]] = []
    private var tlsActive: Bool
    private var bindsForwarded: UInt64 = 0

    /// `tlsActive`: the connection came in over LDAPS. `inFlight`: the server's binds under way, for the shutdown to
    /// wait for.
    init(
        configuration: Configuration, clientAddress: String, tlsActive: Bool, failureLimits: LDAPClientFailureLimits?,
        inFlight: InFlightRequests, drops: DropReport? = nil, clock: any WallClock
    ) {
        self.drops = drops
        self.configuration = configuration
        self.clientAddress = clientAddress
        self.tlsActive = tlsActive
        self.failureLimits = failureLimits
        self.inFlight = inFlight
        self.clock = clock
    }

    // MARK: Client

    mutating func frameReceived(_ frame: [UInt8]) -> Action {
        switch state {
        case .ready:
            return operationReceived(frame)
        case .awaitingDirectory, .deciding, .recording:
            guard held.count < Self.maximumHeld else { return disconnect(.protocolError, "too many operations during a bind") }
            held.append(frame)
            return .none
        case .startingTLS:
            // RFC 4511 §4.14.1: nothing may follow a StartTLS request until its answer.
            return disconnect(.protocolError, "operation sent during StartTLS")
        case .closed:
            return .none
        }
    }

    /// A frame held during a bind, now that the bind is answered; nil while none is left or another bind began.
    mutating func nextHeldAction() -> Action? {
        guard case .ready = state, !held.isEmpty else { return nil }
        return operationReceived(held.removeFirst())
    }

    private mutating func operationReceived(_ frame: [UInt8]) -> Action {
        guard let message = try? LDAPMessage(decoding: frame) else { return disconnect(.protocolError, "malformed message") }
        switch message.protocolOp {
        case .bindRequest(let request):
            return bindReceived(request, message)
        case .unbindRequest:
            let forward: [UInt8]?
            switch upstream {
            case .connected: forward = frame
            case .none, .connecting: forward = nil
            }
            return releasing(closing(), then: .unbind(forward: forward))
        case .extendedRequest(let name, _) where name == LDAPOID.startTLS:
            return startTLSReceived(message.messageID)
        case .bindResponse, .extendedRequest, .extendedResponse, .other:
            return forward(frame)
        }
    }

    private mutating func bindReceived(_ request: LDAPBindRequest, _ message: LDAPMessage) -> Action {
        let id = message.messageID
        guard request.version == 3 else { return .send(Self.bindResponse(id, refusal: .unsupportedVersion)) }
        guard case .simple(let password) = request.authentication else {
            return .send(Self.bindResponse(id, refusal: .saslNotSupported))
        }
        switch configuration.policy.decide(name: request.name, password: password) {
        case .passThrough:
            return forward(message.encoded())
        case .refuse(let refusal):
            return record(bindEvent(user: request.name, error: "\(refusal)"), then: Self.bindResponse(id, refusal: refusal))
        case .withSecondFactor(let username, let directoryPassword, let factor):
            var admission: AdmissionTicket?
            let now = clock.now()
            if let limit = failureLimits?.limit(for: clientAddress, now: now) {
                // An address that keeps failing is refused before the directory is asked (as a RADIUS client is).
                switch limit.attemptReceived(now: now) {
                case .admitted, .limitEnded: admission = limit.ticket(clock: clock)
                case .limited:
                    drops?.dropped(.rateLimited, client: configuration.resource.description)
                    return .send(Self.bindResponse(id, .invalidCredentials, Self.rateLimitedMessage))
                case .limitBegan:
                    drops?.dropped(.rateLimited, client: configuration.resource.description)
                    let event = AuditEvent.clientRateLimited(
                        at: now, resource: configuration.resource, clientAddress: clientAddress, settings: limit.settings)
                    return record(event, then: Self.bindResponse(id, .invalidCredentials, Self.rateLimitedMessage))
                }
            }
            guard inFlight.begin() else {
                admission?.ended(failed: false)
                // RFC 4511 Appendix A.2: unavailable, the server is shutting down.
                return .send(Self.bindResponse(id, .unavailable, "server shutting down"))
            }
            var forwarded = message
            forwarded.protocolOp = .bindRequest(
                LDAPBindRequest(version: 3, name: request.name, authentication: .simple(password: directoryPassword)))
            bindsForwarded += 1
            state = .awaitingDirectory(
                PendingBind(number: bindsForwarded, messageID: id, username: username, factor: factor, admission: admission))
            let code: String? = if case .code(let code) = factor { code } else { nil }
            return .prepare(username: username, code: code, bind: bindsForwarded, then: forward(forwarded.encoded()))
        }
    }

    /// RFC 4511 §4.14, RFC 4513 §3: refused once TLS is up, or when the directory connection is already in use.
    private mutating func startTLSReceived(_ id: Int32) -> Action {
        let refusal: String?
        switch upstream {
        case .none where configuration.startTLSAvailable && !tlsActive: refusal = nil
        case .none, .connecting, .connected:
            refusal = configuration.startTLSAvailable ? "StartTLS not allowed now" : "StartTLS is not available"
        }
        guard let refusal else {
            state = .startingTLS
            return .startTLS(Self.startTLSResponse(id, .success, ""))
        }
        return .send(Self.startTLSResponse(id, .operationsError, refusal))
    }

    mutating func startTLSWritten() {
        switch state {
        case .startingTLS:
            tlsActive = true
            state = .ready
        case .closed:
            break
        case .ready, .awaitingDirectory, .deciding, .recording:
            preconditionFailure("StartTLS written while not starting TLS")
        }
    }

    /// The client connection is gone.
    mutating func connectionClosed() -> Action {
        let abandoned = closing()
        held = []
        switch upstream {
        case .connected:
            upstream = .none
            return releasing(abandoned, then: .dropUpstream)
        case .none, .connecting:
            // A connection still opening is dropped when it opens.
            return releasing(abandoned, then: .none)
        }
    }

    /// Ends the conversation with a Notice of Disconnection (idle, malformed input).
    mutating func disconnect(_ code: LDAPResultCode, _ text: String) -> Action {
        switch state {
        case .closed:
            return .none
        case .ready, .awaitingDirectory, .deciding, .recording, .startingTLS:
            return releasing(closing(), then: .disconnect(code, text))
        }
    }

    // MARK: Directory

    private mutating func forward(_ frame: [UInt8]) -> Action {
        switch upstream {
        case .connected:
            return .sendUpstream([frame])
        case .connecting(var queued):
            guard queued.count < Self.maximumQueued else { return disconnect(.busy, "too many operations before the directory answered") }
            queued.append(frame)
            upstream = .connecting(queued: queued)
            return .none
        case .none:
            upstream = .connecting(queued: [frame])
            return .connectUpstream
        }
    }

    mutating func upstreamConnected() -> Action {
        switch upstream {
        case .connecting(let queued):
            if case .closed = state {
                // The client went away while it opened.
                upstream = .none
                return .dropUpstream
            }
            upstream = .connected
            return .sendUpstream(queued)
        case .none, .connected:
            preconditionFailure("a directory connection that was not asked for")
        }
    }

    mutating func upstreamFailed() -> Action {
        switch upstream {
        case .connecting: upstream = .none
        case .none, .connected: preconditionFailure("a directory connection failed that was not being opened")
        }
        return disconnect(.unavailable, "the directory is unavailable")
    }

    /// The directory closed its connection: the client's goes too (a Notice of its own may already have come).
    mutating func upstreamClosed() -> Action {
        upstream = .none
        switch state {
        case .closed:
            return .none
        case .ready, .awaitingDirectory, .deciding, .recording, .startingTLS:
            return releasing(closing(), then: .close)
        }
    }

    /// What the core read for bind number `bind` (`Action.prepare`; nil: the read failed, the decision reads), kept
    /// for its decision, which follows at once if the directory has answered. For a bind no longer pending (its
    /// client left) it is released.
    mutating func credentialsPrepared(_ prepared: PreparedCredentials?, bind number: UInt64) -> Action {
        guard case .awaitingDirectory(var bind) = state, bind.number == number else {
            return releasing(prepared, then: .none)
        }
        bind.prepared = prepared
        bind.preparing = false
        if let answer = bind.answer { return directoryAnswered(bind, answer.code, frame: answer.frame) }
        state = .awaitingDirectory(bind)
        return .none
    }

    /// A message from the directory: the answer to an intercepted bind, or anything else for the client.
    mutating func upstreamMessage(_ frame: [UInt8]) -> Action {
        switch state {
        case .awaitingDirectory(var bind):
            guard let message = try? LDAPMessage(decoding: frame), message.messageID == bind.messageID,
                case .bindResponse(let result, _) = message.protocolOp
            else { return .send(frame) }
            guard !bind.preparing else {
                bind.answer = (result.resultCode, frame)
                state = .awaitingDirectory(bind)
                return .none
            }
            return directoryAnswered(bind, result.resultCode, frame: frame)
        case .ready, .deciding, .recording, .startingTLS:
            return .send(frame)
        case .closed:
            return .none
        }
    }

    private mutating func directoryAnswered(_ bind: PendingBind, _ code: LDAPResultCode, frame: [UInt8]) -> Action {
        let primary: PrimaryVerdict
        switch code {
        case .success:
            primary = .valid
        case .invalidCredentials:
            // A wrong password is the core's to answer and count (lockout, the address's bucket, the event).
            primary = .invalid
        default:
            // No verdict on the password (busy, unwillingToPerform, …): the directory's own answer, nothing to count.
            bind.admission?.ended(failed: false)
            inFlight.end()
            let recording = record(
                bindEvent(user: bind.username, error: "directory_refused", details: ["result_code": "\(code.rawValue)"]),
                then: frame)
            return releasing(bind.prepared, then: recording)
        }
        state = .deciding(messageID: bind.messageID, directoryBound: primary == .valid)
        return .decide(
            LoginAttempt(
                username: bind.username, secret: "", delivery: .afterPrimary(bind.factor, primary: primary),
                resource: configuration.resource, clientAddress: clientAddress, admission: bind.admission,
                prepared: bind.prepared))
    }

    // MARK: Core and events

    mutating func verdictReached(_ verdict: Verdict) -> Action {
        switch state {
        case .deciding(let messageID, let directoryBound):
            inFlight.end()
            state = .ready
            let (code, text): (LDAPResultCode, String)
            switch verdict {
            case .accept: return .send(Self.bindResponse(messageID, .success, ""))
            case .reject(let reason): (code, text) = (.invalidCredentials, reason.userMessage)
            // No challenge round trip in a simple bind: the code comes appended.
            case .challenge: (code, text) = (.invalidCredentials, RejectReason.codeRequired.userMessage)
            case .dropped: (code, text) = (.busy, "server busy, try again later")
            }
            // Nothing may run as a user the core refused. After a wrong password the directory connection is
            // anonymous again (RFC 4511 §4.2.1) and can stay.
            let response = Self.bindResponse(messageID, code, text)
            return directoryBound ? dropUpstream(then: response) : .send(response)
        case .closed(verdictPending: true):
            inFlight.end()
            state = .closed(verdictPending: false)
            return .none
        case .ready, .awaitingDirectory, .recording, .startingTLS, .closed(verdictPending: false):
            preconditionFailure("a verdict for no bind")
        }
    }

    mutating func eventRecorded() -> Action {
        switch state {
        case .recording(let response):
            state = .ready
            return .send(response)
        case .closed:
            return .none
        case .ready, .awaitingDirectory, .deciding, .startingTLS:
            preconditionFailure("an event recorded for no bind")
        }
    }

    private mutating func record(_ event: AuditEvent, then response: [UInt8]) -> Action {
        state = .recording(response: response)
        return .record(event)
    }

    private mutating func dropUpstream(then response: [UInt8]) -> Action {
        switch upstream {
        case .connected:
            upstream = .none
            return .dropUpstreamAndSend(response)
        case .none, .connecting:
            return .send(response)
        }
    }

    /// Into `closed`; a bind the directory had not answered yet never reaches the core: its token comes back, and
    /// what the core prepared for it is returned, to be released (a read still under way is released when it
    /// comes, by `credentialsPrepared`).
    private mutating func closing() -> PreparedCredentials? {
        switch state {
        case .awaitingDirectory(let bind):
            bind.admission?.ended(failed: false)
            inFlight.end()
            state = .closed(verdictPending: false)
            return bind.prepared
        case .deciding:
            state = .closed(verdictPending: true)
        case .ready, .recording, .startingTLS:
            state = .closed(verdictPending: false)
        case .closed:
            break
        }
        return nil
    }

    /// `then`, after releasing what was prepared when it recorded a step.
    private func releasing(_ prepared: PreparedCredentials?, then action: Action) -> Action {
        guard let prepared, prepared.reservedStep != nil else { return action }
        return .release(prepared, then: action)
    }

    /// Refusals the proxy decides itself (the policy's, the directory's other answers).
    private func bindEvent(user: String, error: String, details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(
            time: clock.now(), type: .ldapBind, user: user, resource: configuration.resource.description,
            clientAddress: clientAddress, result: .failure, error: error, details: details)
    }

    // MARK: Responses

    static func bindResponse(_ messageID: Int32, _ code: LDAPResultCode, _ text: String) -> [UInt8] {
        LDAPMessage(
            messageID: messageID,
            protocolOp: .bindResponse(LDAPResult(resultCode: code, diagnosticMessage: text), serverSaslCreds: nil)
        ).encoded()
    }

    static func bindResponse(_ messageID: Int32, refusal: LDAPRefusal) -> [UInt8] {
        bindResponse(messageID, refusal.result.code, refusal.result.message)
    }

    static func startTLSResponse(_ messageID: Int32, _ code: LDAPResultCode, _ text: String) -> [UInt8] {
        LDAPMessage(
            messageID: messageID,
            protocolOp: .extendedResponse(LDAPResult(resultCode: code, diagnosticMessage: text), name: LDAPOID.startTLS, value: nil)
        ).encoded()
    }
}
