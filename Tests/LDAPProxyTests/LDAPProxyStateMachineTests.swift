import CountersignConfig
import Foundation
import LDAPCodec
import Logging
import ServerSupport
import Testing

@testable import LDAPProxy
@testable import MFACore

/// One connection's conversation without sockets: frames, directory answers and verdicts in, actions out.
@Suite struct LDAPProxyStateMachineTests {
    static let aliceDN = "uid=alice,ou=people,dc=example,dc=org"
    let clock = ManualWallClock()
    let inFlight = InFlightRequests()

    func machine(
        burst: Double = 0, limits: LDAPClientFailureLimits? = nil, allowAnonymous: Bool = false, startTLS: Bool = false,
        tlsActive: Bool = false, drops: DropReport? = nil
    ) -> LDAPProxyStateMachine {
        LDAPProxyStateMachine(
            configuration: LDAPProxyStateMachine.Configuration(
                policy: LDAPBindPolicy(
                    settings: LDAPSettings(exempt: ["ou=services,dc=example,dc=org"], allowAnonymous: allowAnonymous), delimiter: ","),
                resource: Resource(kind: .ldap, name: "directory"), startTLSAvailable: startTLS),
            clientAddress: "192.0.2.7", tlsActive: tlsActive,
            failureLimits: limits ?? LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 1, burst: burst)),
            inFlight: inFlight, drops: drops, clock: clock)
    }

    // MARK: Frames

    static func bind(_ id: Int32, _ dn: String = aliceDN, _ password: String = "alice-pw,123456") -> [UInt8] {
        LDAPMessage(
            messageID: id,
            protocolOp: .bindRequest(LDAPBindRequest(name: dn, authentication: .simple(password: Array(password.utf8))))
        ).encoded()
    }

    static func bindResponse(_ id: Int32, _ code: LDAPResultCode) -> [UInt8] {
        LDAPMessage(messageID: id, protocolOp: .bindResponse(LDAPResult(resultCode: code), serverSaslCreds: nil)).encoded()
    }

    static func search(_ id: Int32) -> [UInt8] {
        LDAPMessage.searchForEntry(messageID: id, base: "dc=example,dc=org", attribute: "uid", value: "bob").encoded()
    }

    static let unbind = LDAPMessage(messageID: 9, protocolOp: .unbindRequest).encoded()
    static let startTLS = LDAPMessage(messageID: 4, protocolOp: .extendedRequest(name: LDAPOID.startTLS, value: nil)).encoded()

    /// The result a bind or extended response carries.
    static func result(_ bytes: [UInt8]) -> (id: Int32, code: LDAPResultCode, text: String)? {
        guard let message = try? LDAPMessage(decoding: bytes) else { return nil }
        switch message.protocolOp {
        case .bindResponse(let result, _), .extendedResponse(let result, _, _):
            return (message.messageID, result.resultCode, result.diagnosticMessage)
        default:
            return nil
        }
    }

    static func sent(_ action: LDAPProxyStateMachine.Action) -> (id: Int32, code: LDAPResultCode, text: String)? {
        guard case .send(let bytes) = action else { return nil }
        return result(bytes)
    }

    /// A bind forwarded, its login prepared (`prepared`), and answered by the directory with `code`: the attempt for
    /// the core.
    func bindDecided(
        _ machine: inout LDAPProxyStateMachine, _ id: Int32, directory code: LDAPResultCode, prepared: PreparedCredentials? = nil
    ) throws -> LoginAttempt {
        let received = machine.frameReceived(Self.bind(id))
        let bind = try #require(received.preparedBind)
        switch received.afterPreparing {
        case .connectUpstream: #expect(machine.upstreamConnected().isSendUpstream)
        case .sendUpstream: break
        default: throw Unexpected()
        }
        #expect(machine.credentialsPrepared(prepared, bind: bind).isNone)
        guard case .decide(let attempt) = machine.upstreamMessage(Self.bindResponse(id, code)) else {
            throw Unexpected()
        }
        return attempt
    }

    /// What the core prepares when it recorded the code's step for the bind.
    static func reserved(_ step: Int64 = 56_666_666) -> PreparedCredentials {
        PreparedCredentials(
            username: "alice", credentials: UserCredentials(username: "alice", passwordHash: nil, totp: nil),
            code: PreparedCode(code: "123456", outcome: .reserved(step: step)))
    }

    struct Unexpected: Error {}

    // MARK: Binds

    @Test func aBindGoesToTheDirectoryWithoutTheFactorUnderTheClientsMessageID() throws {
        var machine = machine()
        let received = machine.frameReceived(Self.bind(7))
        // The core reads alice's credentials while the directory checks her password.
        #expect(received.preparedUser == "alice")
        #expect(received.isConnectUpstream)
        guard case .sendUpstream(let frames) = machine.upstreamConnected() else { throw Unexpected() }
        let forwarded = try LDAPMessage(decoding: try #require(frames.first))
        #expect(frames.count == 1)
        #expect(forwarded.messageID == 7)
        #expect(forwarded.protocolOp == .bindRequest(LDAPBindRequest(name: Self.aliceDN, authentication: .simple(password: Array("alice-pw".utf8)))))
        #expect(inFlight.count == 1)
    }

    @Test func theDirectorysRefusalGoesToTheCoreAsAnInvalidPassword() throws {
        var machine = machine(burst: 5)
        let attempt = try bindDecided(&machine, 3, directory: .invalidCredentials)
        #expect(attempt.username == "alice")
        #expect(attempt.secret == "")
        #expect(attempt.delivery == .afterPrimary(.code("123456"), primary: .invalid))
        #expect(attempt.resource == Resource(kind: .ldap, name: "directory"))
        #expect(attempt.clientAddress == "192.0.2.7")
        #expect(attempt.admission != nil)

        // The core's answer, with its reason; the directory connection is anonymous again and stays.
        let answer = machine.verdictReached(.reject(.invalidCredentials))
        #expect(Self.sent(answer)?.id == 3)
        #expect(Self.sent(answer)?.code == .invalidCredentials)
        #expect(Self.sent(answer)?.text == "Wrong username or password")
        #expect(inFlight.count == 0)
    }

    @Test func theDirectorysSuccessGoesToTheCore() throws {
        var machine = machine()
        let attempt = try bindDecided(&machine, 3, directory: .success)
        #expect(attempt.delivery == .afterPrimary(.code("123456"), primary: .valid))
        #expect(attempt.admission == nil)
        #expect(Self.sent(machine.verdictReached(.accept))?.code == .success)
        // Still bound as the user: the next operation goes on the same directory connection.
        #expect(machine.frameReceived(Self.search(4)).isSendUpstream)
    }

    /// What the core read while the directory checked the password goes with the attempt, so that the decision
    /// reads nothing; what was read for an earlier bind of the connection is not used.
    @Test func credentialsPreparedForTheBindGoToItsDecisionOnly() throws {
        var machine = machine()
        let alice = PreparedCredentials(username: "alice", credentials: UserCredentials(username: "alice", passwordHash: nil, totp: nil))
        let received = machine.frameReceived(Self.bind(1))
        let firstBind = try #require(received.preparedBind)
        #expect(received.preparedCode == "123456")
        #expect(machine.upstreamConnected().isSendUpstream)
        #expect(machine.credentialsPrepared(alice, bind: firstBind).isNone)
        guard case .decide(let decided) = machine.upstreamMessage(Self.bindResponse(1, .success)) else { throw Unexpected() }
        #expect(decided.prepared?.username == "alice")
        _ = machine.verdictReached(.accept)

        // The second bind's read has not come back when the first bind's arrives late: not this bind's.
        let secondBind = try #require(machine.frameReceived(Self.bind(2)).preparedBind)
        #expect(secondBind != firstBind)
        #expect(machine.credentialsPrepared(alice, bind: firstBind).isNone)
        #expect(machine.upstreamMessage(Self.bindResponse(2, .success)).isNone)
        guard case .decide(let second) = machine.credentialsPrepared(nil, bind: secondBind) else { throw Unexpected() }
        #expect(second.prepared == nil)
    }

    /// The core may record the code's step while it reads (`LoginAuthenticator.prepare`): the directory's answer
    /// waits for the read, or the decision would find the code used — by its own bind.
    @Test func theDirectorysAnswerWaitsForThePreparedRead() throws {
        var machine = machine()
        let bind = try #require(machine.frameReceived(Self.bind(1)).preparedBind)
        _ = machine.upstreamConnected()
        #expect(machine.upstreamMessage(Self.bindResponse(1, .success)).isNone)
        // Nothing else goes to the directory while the bind is open: held, as during any bind.
        #expect(machine.frameReceived(Self.search(2)).isNone)
        let prepared = Self.reserved()
        guard case .decide(let attempt) = machine.credentialsPrepared(prepared, bind: bind) else { throw Unexpected() }
        #expect(attempt.prepared === prepared)
        #expect(attempt.delivery == .afterPrimary(.code("123456"), primary: .valid))
        #expect(machine.verdictReached(.accept).isSend)
        #expect(machine.nextHeldAction()?.isSendUpstream == true)
    }

    /// A step recorded for a bind that never reaches the core goes back: its client left before the directory
    /// answered (the read came back before or after), or the directory answered with no verdict on the password.
    @Test func aStepRecordedForABindThatIsNotDecidedIsReleased() throws {
        var machine = machine()
        var bind = try #require(machine.frameReceived(Self.bind(1)).preparedBind)
        _ = machine.upstreamConnected()
        let first = Self.reserved(1)
        #expect(machine.credentialsPrepared(first, bind: bind).isNone)
        guard case .release(let released, then: .dropUpstream) = machine.connectionClosed() else { throw Unexpected() }
        #expect(released === first)
        #expect(inFlight.count == 0)

        machine = self.machine()
        bind = try #require(machine.frameReceived(Self.bind(1)).preparedBind)
        _ = machine.upstreamConnected()
        #expect(machine.connectionClosed().isDropUpstream)
        let late = Self.reserved(2)
        guard case .release(let releasedLate, then: .none) = machine.credentialsPrepared(late, bind: bind) else { throw Unexpected() }
        #expect(releasedLate === late)

        machine = self.machine()
        bind = try #require(machine.frameReceived(Self.bind(1)).preparedBind)
        _ = machine.upstreamConnected()
        #expect(machine.upstreamMessage(Self.bindResponse(1, .busy)).isNone)
        let busy = Self.reserved(3)
        guard case .release(let releasedBusy, then: .record(let event)) = machine.credentialsPrepared(busy, bind: bind) else {
            throw Unexpected()
        }
        #expect(releasedBusy === busy)
        #expect(event.error == "directory_refused")

        // Nothing recorded, nothing to release.
        machine = self.machine()
        bind = try #require(machine.frameReceived(Self.bind(1)).preparedBind)
        #expect(machine.connectionClosed().isNone)
        let unchecked = PreparedCredentials(username: "alice", credentials: nil)
        #expect(machine.credentialsPrepared(unchecked, bind: bind).isNone)
    }

    @Test(arguments: [
        (Verdict.reject(.invalidCode), LDAPResultCode.invalidCredentials, "Invalid verification code"),
        (.reject(.locked), .invalidCredentials, "Account locked after too many failed attempts, try again later"),
        (.reject(.pushDenied), .invalidCredentials, "Push denied"),
        (.challenge(prompt: "code", state: [1]), .invalidCredentials, "Append your verification code to the password"),
        (.dropped(.queueWait), .busy, "server busy, try again later"),
    ])
    func aRefusalAfterTheDirectorysSuccessDropsItsConnection(verdict: Verdict, code: LDAPResultCode, text: String) throws {
        var machine = machine()
        _ = try bindDecided(&machine, 5, directory: .success)
        guard case .dropUpstreamAndSend(let bytes) = machine.verdictReached(verdict) else { throw Unexpected() }
        #expect(Self.result(bytes)?.id == 5)
        #expect(Self.result(bytes)?.code == code)
        #expect(Self.result(bytes)?.text == text)
        // The next operation opens a new, anonymous, directory connection.
        #expect(machine.frameReceived(Self.search(6)).isConnectUpstream)
    }

    @Test func anotherAnswerOfTheDirectoryIsPassedOnAndRecordedWithoutTheCore() throws {
        let limits = try #require(LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 1, burst: 1)))
        var machine = machine(limits: limits)
        #expect(machine.frameReceived(Self.bind(2)).isConnectUpstream)
        _ = machine.upstreamConnected()
        let busy = Self.bindResponse(2, .busy)
        #expect(machine.upstreamMessage(busy).isNone)
        guard case .record(let event) = machine.credentialsPrepared(nil, bind: 1) else { throw Unexpected() }
        #expect(event.type == .ldapBind && event.result == .failure && event.user == "alice")
        #expect(event.error == "directory_refused" && event.details == ["result_code": "51"])
        #expect(event.time == clock.now())
        guard case .send(let bytes) = machine.eventRecorded() else { throw Unexpected() }
        #expect(bytes == busy)
        // No guess: the address's token came back, and nothing is in flight.
        #expect(limits.limit(for: "192.0.2.7", now: clock.now()).isFull(now: clock.now()))
        #expect(inFlight.count == 0)
    }

    @Test func framesDuringABindWaitForItsAnswer() throws {
        var machine = machine()
        #expect(machine.frameReceived(Self.bind(1)).isConnectUpstream)
        #expect(machine.frameReceived(Self.search(2)).isNone)
        _ = machine.upstreamConnected()
        #expect(machine.frameReceived(Self.search(3)).isNone)
        #expect(machine.credentialsPrepared(nil, bind: 1).isNone)
        guard case .decide = machine.upstreamMessage(Self.bindResponse(1, .success)) else { throw Unexpected() }
        #expect(machine.nextHeldAction() == nil)
        #expect(Self.sent(machine.verdictReached(.accept))?.code == .success)
        guard case .sendUpstream(let first) = machine.nextHeldAction(), case .sendUpstream(let second) = machine.nextHeldAction()
        else { throw Unexpected() }
        #expect(first == [Self.search(2)] && second == [Self.search(3)])
        #expect(machine.nextHeldAction() == nil)
    }

    @Test func aHeldBindWaitsForTheOneBeforeIt() throws {
        var machine = machine()
        _ = try bindDecided(&machine, 1, directory: .success)
        #expect(machine.frameReceived(Self.bind(2)).isNone)
        #expect(machine.frameReceived(Self.search(3)).isNone)
        _ = machine.verdictReached(.accept)
        #expect(machine.nextHeldAction()?.isSendUpstream == true)  // the second bind, to the directory
        #expect(machine.nextHeldAction() == nil)  // the search waits for it
        #expect(inFlight.count == 1)
    }

    @Test func tooManyFramesDuringABindDisconnect() throws {
        var machine = machine()
        _ = machine.frameReceived(Self.bind(1))
        for id in 2...17 { #expect(machine.frameReceived(Self.search(Int32(id))).isNone) }
        guard case .disconnect(let code, _) = machine.frameReceived(Self.search(18)) else { throw Unexpected() }
        #expect(code == .protocolError)
        // The bind never reached the core: nothing stays in flight.
        #expect(inFlight.count == 0)
        #expect(machine.frameReceived(Self.search(19)).isNone)
    }

    @Test func aMalformedFrameDisconnects() throws {
        var machine = machine()
        guard case .disconnect(.protocolError, "malformed message") = machine.frameReceived([0x30, 0x00]) else { throw Unexpected() }
    }

    // MARK: Unbind, StartTLS

    @Test func unbindIsPassedOnOnlyToAnOpenDirectoryConnection() throws {
        var fresh = machine()
        guard case .unbind(nil) = fresh.frameReceived(Self.unbind) else { throw Unexpected() }
        var connected = machine()
        _ = connected.frameReceived(Self.search(1))
        _ = connected.upstreamConnected()
        guard case .unbind(let forward) = connected.frameReceived(Self.unbind) else { throw Unexpected() }
        #expect(forward == Self.unbind)
        guard case .dropUpstream = connected.connectionClosed() else { throw Unexpected() }
    }

    @Test func startTLSOnceWhenACertificateIsSet() throws {
        var machine = machine(startTLS: true)
        guard case .startTLS(let bytes) = machine.frameReceived(Self.startTLS) else { throw Unexpected() }
        #expect(Self.result(bytes)?.code == .success && Self.result(bytes)?.id == 4)
        machine.startTLSWritten()
        let again = Self.sent(machine.frameReceived(Self.startTLS))
        #expect(again?.code == .operationsError && again?.text == "StartTLS not allowed now")
    }

    @Test func startTLSRefused() throws {
        var none = machine()
        let unavailable = Self.sent(none.frameReceived(Self.startTLS))
        #expect(unavailable?.code == .operationsError && unavailable?.text == "StartTLS is not available")
        // Over LDAPS, or once the directory connection is in use.
        var ldaps = machine(startTLS: true, tlsActive: true)
        #expect(Self.sent(ldaps.frameReceived(Self.startTLS))?.code == .operationsError)
        var used = machine(startTLS: true)
        _ = used.frameReceived(Self.search(1))
        #expect(Self.sent(used.frameReceived(Self.startTLS))?.code == .operationsError)
    }

    @Test func nothingMayFollowAStartTLSRequestBeforeItsAnswer() throws {
        var machine = machine(startTLS: true)
        _ = machine.frameReceived(Self.startTLS)
        guard case .disconnect(.protocolError, _) = machine.frameReceived(Self.search(5)) else { throw Unexpected() }
    }

    // MARK: Refusals without the directory

    @Test(arguments: [
        ("", "", LDAPResultCode.unwillingToPerform, "anonymousNotAllowed"),
        ("uid=alice,ou=people,dc=example,dc=org", "", .unwillingToPerform, "unauthenticatedBind"),
        ("", "secret", .invalidCredentials, "passwordWithoutName"),
    ])
    func policyRefusalsAreRecordedThenAnswered(dn: String, password: String, code: LDAPResultCode, error: String) throws {
        var machine = machine()
        guard case .record(let event) = machine.frameReceived(Self.bind(3, dn, password)) else { throw Unexpected() }
        #expect(event.type == .ldapBind && event.result == .failure && event.error == error)
        #expect(event.time == clock.now() && event.clientAddress == "192.0.2.7")
        #expect(machine.frameReceived(Self.search(4)).isNone)
        let answer = Self.sent(machine.eventRecorded())
        #expect(answer?.id == 3 && answer?.code == code)
        #expect(machine.nextHeldAction()?.isConnectUpstream == true)
    }

    @Test func anonymousAndExemptBindsPassThroughWhenAllowed() throws {
        var machine = machine(allowAnonymous: true)
        #expect(machine.frameReceived(Self.bind(1, "", "")).isConnectUpstream)
        guard case .sendUpstream = machine.upstreamConnected() else { throw Unexpected() }
        let service = Self.bind(2, "cn=app,ou=services,dc=example,dc=org", "app-pw")
        guard case .sendUpstream(let frames) = machine.frameReceived(service) else { throw Unexpected() }
        #expect(frames == [service])
        // Not intercepted: the directory's answer goes straight back.
        let answer = Self.bindResponse(2, .success)
        guard case .send(let bytes) = machine.upstreamMessage(answer) else { throw Unexpected() }
        #expect(bytes == answer)
        #expect(inFlight.count == 0)
    }

    @Test func oldVersionsAndSASLAreRefusedAtOnce() throws {
        var machine = machine()
        let v2 = LDAPMessage(
            messageID: 1,
            protocolOp: .bindRequest(LDAPBindRequest(version: 2, name: Self.aliceDN, authentication: .simple(password: [0x78])))
        ).encoded()
        #expect(Self.sent(machine.frameReceived(v2))?.code == .protocolError)
        let sasl = LDAPMessage(
            messageID: 2, protocolOp: .bindRequest(LDAPBindRequest(name: "", authentication: .sasl(mechanism: "EXTERNAL", credentials: nil)))
        ).encoded()
        #expect(Self.sent(machine.frameReceived(sasl))?.code == .authMethodNotSupported)
    }

    // MARK: The address's failure limit

    @Test func anAddressThatKeepsFailingIsRefusedWithoutTheDirectory() throws {
        let drops = DropReport(logger: Logger(label: "drops"), clock: clock)
        var machine = machine(burst: 2, drops: drops)
        for id: Int32 in [1, 2] {
            let attempt = try bindDecided(&machine, id, directory: .invalidCredentials)
            // The core ends the ticket with its verdict.
            attempt.admission?.ended(failed: true)
            _ = machine.verdictReached(.reject(.invalidCredentials))
        }
        guard case .record(let event) = machine.frameReceived(Self.bind(3)) else { throw Unexpected() }
        #expect(event.type == .clientRateLimited && event.user == nil && event.clientAddress == "192.0.2.7")
        #expect(event.resource == "ldap:directory" && event.details == ["rate": "1", "burst": "2"])
        let refused = Self.sent(machine.eventRecorded())
        #expect(refused?.id == 3 && refused?.code == .invalidCredentials && refused?.text == "Too many failed attempts, try again later")
        // Once per episode.
        #expect(Self.sent(machine.frameReceived(Self.bind(4)))?.text == "Too many failed attempts, try again later")
        #expect(inFlight.count == 0)
        // Both refusals are reported with the drops, under the resource (addresses are not a bounded set of names).
        #expect(drops.total(.rateLimited) == 2)

        // A token back (one per second): the directory is asked again.
        clock.advance(by: 1)
        #expect(machine.frameReceived(Self.bind(5)).isSendUpstream)
    }

    @Test func aBindThatNeverReachesTheCoreGivesItsTokenBack() throws {
        let limits = try #require(LDAPClientFailureLimits(settings: FailureBucket.Settings(rate: 1, burst: 1)))
        var closed = machine(limits: limits)
        #expect(closed.frameReceived(Self.bind(1)).isConnectUpstream)
        #expect(closed.connectionClosed().isNone)
        #expect(limits.limit(for: "192.0.2.7", now: clock.now()).isFull(now: clock.now()))
        // The directory connection that opens after its client left is closed at once.
        guard case .dropUpstream = closed.upstreamConnected() else { throw Unexpected() }

        var unreachable = machine(limits: limits)
        #expect(unreachable.frameReceived(Self.bind(1)).isConnectUpstream)
        guard case .disconnect(.unavailable, _) = unreachable.upstreamFailed() else { throw Unexpected() }
        #expect(limits.limit(for: "192.0.2.7", now: clock.now()).isFull(now: clock.now()))
        #expect(inFlight.count == 0)
    }

    // MARK: Shutdown

    @Test func aBindBeingDecidedStaysInFlightUntilItsVerdictEvenWhenItsClientLeaves() throws {
        var machine = machine()
        _ = try bindDecided(&machine, 1, directory: .success)
        #expect(machine.connectionClosed().isDropUpstream)
        #expect(inFlight.count == 1)
        #expect(machine.verdictReached(.accept).isNone)
        #expect(inFlight.count == 0)
    }

    @Test func whileDrainingNewBindsAreRefused() async throws {
        await inFlight.drain()
        var machine = machine()
        let refused = Self.sent(machine.frameReceived(Self.bind(1)))
        #expect(refused?.code == .unavailable && refused?.id == 1)
        #expect(inFlight.count == 0)
    }
}

extension LDAPProxyStateMachine.Action {
    var isNone: Bool { if case .none = self { true } else { false } }
    var isConnectUpstream: Bool { if case .connectUpstream = afterPreparing { true } else { false } }
    var isSendUpstream: Bool { if case .sendUpstream = afterPreparing { true } else { false } }
    /// The action that follows preparing the user's login (`prepare`), or this one.
    var afterPreparing: Self { if case .prepare(_, _, _, let then) = self { then } else { self } }
    var preparedUser: String? { if case .prepare(let username, _, _, _) = self { username } else { nil } }
    var preparedCode: String? { if case .prepare(_, let code, _, _) = self { code } else { nil } }
    var preparedBind: UInt64? { if case .prepare(_, _, let bind, _) = self { bind } else { nil } }
    var isSend: Bool { if case .send = self { true } else { false } }
    var isDropUpstream: Bool { if case .dropUpstream = self { true } else { false } }
}
