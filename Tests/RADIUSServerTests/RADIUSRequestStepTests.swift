import CountersignConfig
import Foundation
import Logging
import MFACore
import NIOCore
import RADIUSCodec
import Testing

@testable import RADIUSServer

/// The request path without sockets: datagrams in, actions out.
@Suite struct RADIUSRequestStepTests {
    static let secret = "testing123"
    let clock = ManualWallClock()

    func step(burst: Double = 0, clients: [(String, String)] = [("good", "127.0.0.1/32"), ("bad", "127.0.0.2/32")]) -> RADIUSRequestStep {
        let limit = FailureBucket.Settings(rate: 1, burst: burst)
        let table = RADIUSClientTable(
            clients.enumerated().map { id, entry in
                var client = RADIUSClient(
                    RADIUSClientSettings(name: entry.0, network: IPNetwork(entry.1)!, secret: Self.secret, mode: .auto))
                client.id = id
                client.failureLimit = limit.isEnabled ? FailureRateLimit(settings: limit, now: clock.now()) : nil
                return client
            })
        return RADIUSRequestStep(clients: table, delimiter: ",", duplicateWindow: .seconds(30), clock: clock, logger: Logger(label: "test"))
    }

    static func source(_ last: UInt8, port: Int = 40000) -> RADIUSRequestStep.Source {
        .init(address: [127, 0, 0, last], port: port, text: "127.0.0.\(last)")
    }

    static func accessRequest(
        user: String = "alice", password: String = "pw,123456", identifier: UInt8 = 1, authenticator: [UInt8]? = nil,
        proxyStates: Int = 0
    ) -> [UInt8] {
        let authenticator = authenticator ?? (0..<16).map { _ in UInt8.random(in: 0...255) }
        let hidden = RADIUSUserPassword.hide(Array(password.utf8), secret: Array(secret.utf8), requestAuthenticator: authenticator)
        var attributes = [RADIUSAttribute(type: .userName, string: user), RADIUSAttribute(type: .userPassword, value: hidden)]
        attributes += (0..<proxyStates).map { _ in RADIUSAttribute(type: .proxyState, value: [UInt8](repeating: 7, count: 253)) }
        return RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: identifier, authenticator: authenticator, attributes: attributes,
            secret: Array(secret.utf8))
    }

    static func statusServer() -> [UInt8] {
        RADIUSPacket.encodeRequest(
            code: .statusServer, identifier: 9, authenticator: [UInt8](repeating: 1, count: 16), attributes: [],
            secret: Array(secret.utf8))
    }

    @Test func anUnknownSourceIsDroppedSilentlyAndCounted() {
        var step = step()
        guard case .drop(.unknownClient, nil) = step.datagramReceived(Self.accessRequest(), from: Self.source(9), now: .now()) else {
            Issue.record("expected a drop")
            return
        }
    }

    @Test func garbageAndABadMessageAuthenticatorAreDroppedWithTheirReason() {
        var step = step()
        guard case .drop(.malformed, "good") = step.datagramReceived([1, 2, 3], from: Self.source(1), now: .now()) else {
            Issue.record("expected a malformed drop")
            return
        }
        var signed = Self.accessRequest()
        signed[signed.count - 1] ^= 0xff  // inside User-Password: the Message-Authenticator no longer matches
        guard case .drop(.badAuthenticator, "good") = step.datagramReceived(signed, from: Self.source(1), now: .now()) else {
            Issue.record("expected a bad-authenticator drop")
            return
        }
        #expect(step.cache.count == 0)
    }

    @Test func statusServerIsAnsweredWithoutTouchingTheCache() throws {
        var step = step()
        guard case .send(let reply) = step.datagramReceived(Self.statusServer(), from: Self.source(1), now: .now()) else {
            Issue.record("expected a reply")
            return
        }
        #expect(try RADIUSPacket(decoding: reply).code == .accessAccept)
        #expect(step.cache.count == 0)
    }

    /// A node whose store is out of reach goes quiet on Status-Server, so that probing NASes fail over; answered again
    /// once the store is back.
    @Test func statusServerGoesUnansweredWhileTheStoreIsOutOfReach() throws {
        var step = step()
        let availability = StoreAvailability()
        step = RADIUSRequestStep(
            clients: step.clients, delimiter: ",", duplicateWindow: .seconds(30), clock: step.clock, availability: availability,
            logger: Logger(label: "test"))
        _ = availability.checked(problem: "connection refused", now: Date())
        guard case .drop(nil, _) = step.datagramReceived(Self.statusServer(), from: Self.source(1), now: .now()) else {
            Issue.record("expected silence")
            return
        }
        _ = availability.checked(problem: nil, now: Date())
        guard case .send = step.datagramReceived(Self.statusServer(), from: Self.source(1), now: .now()) else {
            Issue.record("expected a reply")
            return
        }
    }

    @Test func anAccessRequestIsHandedOnAndItsRetransmitsDroppedThenAnsweredFromTheCache() throws {
        var step = step()
        let request = Self.accessRequest()
        guard case .decide(let login) = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("expected a login to decide")
            return
        }
        #expect(login.attempt.username == "alice")
        #expect(login.attempt.secret == "pw,123456")
        #expect(login.attempt.arrived == clock.now())
        guard case .drop(nil, "good") = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("a retransmit while deciding is dropped")
            return
        }
        guard case .send(let reply) = step.verdictReached(.accept, for: login, now: .now()) else {
            Issue.record("expected the reply")
            return
        }
        #expect(try RADIUSPacket(decoding: reply).code == .accessAccept)
        guard case .send(let again) = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("a retransmit after the answer gets the same bytes")
            return
        }
        #expect(again == reply)
    }

    @Test func aDroppedVerdictSendsNothingAndLetsTheRetransmitBeDecidedAfresh() {
        var step = step()
        let request = Self.accessRequest()
        guard case .decide(let login) = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("expected a login to decide")
            return
        }
        guard case .drop(.queueWait, "good") = step.verdictReached(.dropped(.queueWait), for: login, now: .now()) else {
            Issue.record("expected a queue-wait drop")
            return
        }
        guard case .decide = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("expected the retransmit to be decided")
            return
        }
    }

    @Test func aBurstAgainstABucketOfBTokensAdmitsAtMostBBeforeAnyIsDecided() throws {
        var step = step(burst: 5)
        var admitted: [RADIUSRequestStep.Login] = []
        var limitEvents = 0
        var refusals = 0
        for identifier in 0..<50 {
            switch step.datagramReceived(
                Self.accessRequest(user: "nobody\(identifier)", identifier: UInt8(identifier)), from: Self.source(2), now: .now())
            {
            case .decide(let login): admitted.append(login)
            case .refuseLimited(let reply, let event?, let client):
                #expect(event.type == .clientRateLimited)
                #expect(try RADIUSPacket(decoding: reply).code == .accessReject)
                #expect(client == "bad")
                limitEvents += 1
            case .refuseLimited(let reply, nil, _):
                #expect(try RADIUSPacket(decoding: reply).code == .accessReject)
                refusals += 1
            case .send: Issue.record("a limited client's request is refused as limited")
            case .drop: Issue.record("nothing is dropped")
            }
        }
        #expect(admitted.count == 5)
        #expect(limitEvents == 1)
        #expect(refusals == 44)
        // The other client is not affected.
        guard case .decide = step.datagramReceived(Self.accessRequest(), from: Self.source(1), now: .now()) else {
            Issue.record("the good client is admitted")
            return
        }
        // A success gives its token back; failures keep theirs.
        admitted[0].attempt.admission?.ended(failed: false)
        for login in admitted.dropFirst() { login.attempt.admission?.ended(failed: true) }
        let next = step.datagramReceived(Self.accessRequest(identifier: 200), from: Self.source(2), now: .now())
        guard case .decide = next else {
            Issue.record("the returned token admits one more: \(next)")
            return
        }
        // Still the same episode: no second event.
        guard case .refuseLimited(_, nil, _) = step.datagramReceived(Self.accessRequest(identifier: 201), from: Self.source(2), now: .now())
        else {
            Issue.record("and only one")
            return
        }
    }

    @Test func aRefusalOfALimitedClientIsNotCached() {
        var step = step(burst: 1)
        _ = step.datagramReceived(Self.accessRequest(identifier: 1), from: Self.source(2), now: .now())
        for identifier in 2..<100 {
            _ = step.datagramReceived(Self.accessRequest(identifier: UInt8(identifier)), from: Self.source(2), now: .now())
        }
        #expect(step.cache.count == 1)
    }

    @Test func replyMessageGoesFirstWhenTheReplyWouldNotFit() {
        let proxyStates = (0..<15).map { _ in RADIUSAttribute(type: .proxyState, value: [UInt8](repeating: 7, count: 253)) }
        let message = RADIUSAttribute(type: .replyMessage, string: String(repeating: "x", count: 250))
        #expect(RADIUSRequestStep.fitting([message] + proxyStates)?.count == 15)
        #expect(RADIUSRequestStep.fitting([message] + proxyStates.prefix(3))?.count == 4)
    }

    @Test func anAcceptWhoseAttributesDoNotFitBesideTheProxyStateIsDroppedAsTooLarge() throws {
        // 15 Proxy-States of 253 octets leave 200 octets; the grant's attributes take 255.
        var step = step()
        let request = Self.accessRequest(proxyStates: 15)
        guard case .decide(let login) = step.datagramReceived(request, from: Self.source(1), now: .now()) else {
            Issue.record("expected a login to decide")
            return
        }
        let grant = Grant(attributes: [ReplyAttribute(type: 25, value: [UInt8](repeating: 1, count: 253))])
        guard case .drop(.replyTooLarge, "good") = step.verdictReached(.accept(grant), for: login, now: .now()) else {
            Issue.record("expected a drop: no reply fits")
            return
        }
        // Without the grant's attribute the same request gets its Accept.
        guard case .decide(let again) = step.datagramReceived(request, from: Self.source(1), now: .now()),
            case .send(let reply) = step.verdictReached(.accept, for: again, now: .now())
        else {
            Issue.record("expected the retransmit decided afresh and answered")
            return
        }
        #expect(try RADIUSPacket(decoding: reply).attributes(.proxyState).count == 15)
    }
}
