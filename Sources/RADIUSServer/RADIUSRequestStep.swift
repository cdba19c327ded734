import Foundation
import Logging
import MFACore
import NIOCore
import RADIUSCodec

/// The RADIUS request path without a transport: a datagram and its source in, an action out, and a verdict in, a
/// reply out. Client lookup, decoding, Message-Authenticator, the duplicate cache and admission happen here; the
/// handlers around it only do the I/O (UDP datagrams, or RadSec frames cut from a TLS stream).
/// One per UDP socket or RadSec connection: it owns that socket's or connection's duplicate cache.
struct RADIUSRequestStep {
    /// Where a datagram came from.
    struct Source {
        var address: [UInt8]
        var port: Int
        /// The address as text, for attempts and logs.
        var text: String
    }

    /// An Access-Request admitted for a decision.
    struct Login: Sendable {
        var request: RADIUSPacket
        var key: DuplicateCache.Key
        var client: RADIUSClient
        var attempt: LoginAttempt
    }

    enum Action {
        /// Send nothing. A drop to count and report carries its reason and the client's name; a retransmit of a
        /// request being decided, or a code this server does not serve, carries none.
        case drop(DropReason?, client: String?)
        case send([UInt8])
        /// Hand the login to the MFA core, then give its verdict to `verdictReached`.
        case decide(Login)
        /// Refused undecided, the client's failure bucket being empty: reported with the drops (`rate_limited`), and
        /// when the bucket has just run empty `event` is stored (once per episode) before the reply is sent.
        case refuseLimited([UInt8], event: AuditEvent?, client: String)
    }

    let clients: RADIUSClientTable
    let delimiter: Character
    let clock: any WallClock
    let logger: Logger
    let counters: (any RADIUSCounters)?
    let availability: StoreAvailability?
    /// What an Access-Accept carries beyond Message-Authenticator and Proxy-State.
    let replyRules: RADIUSReplyRules
    private(set) var cache: DuplicateCache

    init(
        clients: RADIUSClientTable, delimiter: Character, duplicateWindow: TimeAmount, clock: any WallClock,
        counters: (any RADIUSCounters)? = nil, availability: StoreAvailability? = nil, replyRules: RADIUSReplyRules = RADIUSReplyRules(),
        logger: Logger
    ) {
        self.replyRules = replyRules
        self.availability = availability
        self.clients = clients
        self.delimiter = delimiter
        self.clock = clock
        self.counters = counters
        self.logger = logger
        self.cache = DuplicateCache(lifetime: duplicateWindow)
    }

    /// A datagram: its client is the one whose network holds the source address.
    mutating func datagramReceived(_ raw: [UInt8], from source: Source, now: NIODeadline) -> Action {
        // RFC 2865 §3: requests from unknown clients are silently discarded.
        guard let client = clients.client(for: source.address) else { return .drop(.unknownClient, client: nil) }
        return packetReceived(raw, from: source, client: client, now: now)
    }

    /// One whole packet from `client`, however it came (a datagram, or a frame cut from a RadSec stream whose
    /// connection was mapped to its client at the handshake).
    mutating func packetReceived(_ raw: [UInt8], from source: Source, client: RADIUSClient, now: NIODeadline) -> Action {
        guard let request = try? RADIUSPacket(decoding: raw) else { return .drop(.malformed, client: client.name) }
        guard request.code == .accessRequest || request.code == .statusServer else { return .drop(nil, client: client.name) }
        // RFC 3579 §3.2: a wrong Message-Authenticator is silently discarded; RFC 5997 §3 requires one on
        // Status-Server; BlastRADIUS: a client marked as sending it must always send it.
        switch RADIUSAuthenticators.checkMessageAuthenticator(raw: raw, secret: client.secret) {
        case .valid:
            break
        case .absent where !client.requireMessageAuthenticator && request.code == .accessRequest:
            break
        case .absent, .invalid:
            return .drop(.badAuthenticator, client: client.name)
        }

        if request.code == .statusServer {
            // A node that cannot reach its store says nothing, so that a NAS probing it fails over (RFC 5997 §4.3).
            if let availability, !availability.isAvailable { return .drop(nil, client: client.name) }
            // RFC 5997 §3: answered with Access-Accept, no side effects.
            return Self.encode((.accessAccept, []), to: request, client: client, logger: logger).map { .send($0) }
                ?? .drop(.replyTooLarge, client: client.name)
        }

        counters?.accessRequestReceived(client: client.id)
        let key = DuplicateCache.Key(sourceAddress: source.address, sourcePort: source.port, identifier: request.identifier)
        switch cache.requestReceived(key, authenticator: request.authenticator, client: client.id, now: now) {
        case .new: break
        case .dropInProgress:
            counters?.duplicateReceived(client: client.id)
            return .drop(nil, client: client.name)
        case .dropOverloaded: return .drop(.overloaded, client: client.name)
        case .resend(let reply):
            counters?.duplicateReceived(client: client.id)
            return .send(reply)
        }

        var attempt: LoginAttempt
        do {
            attempt = try RADIUSAccessMapping.loginAttempt(
                from: request, client: client, clientAddress: source.text, delimiter: delimiter)
        } catch {
            return reply(RADIUSAccessMapping.reply(to: request, refusal: error), to: request, key: key, client: client, now: now)
        }

        guard let limit = client.failureLimit else {
            attempt.arrived = clock.now()
            return .decide(Login(request: request, key: key, client: client, attempt: attempt))
        }
        let wallNow = clock.now()
        switch limit.attemptReceived(now: wallNow) {
        case .admitted:
            break
        case .limitEnded(let refused):
            logger.notice(
                "client no longer rate limited", metadata: ["client": "\(client.name)", "source": "\(source.text)", "refused": "\(refused)"])
        case .limited:
            return refuseLimited(request, key: key, client: client, event: nil)
        case .limitBegan:
            logger.warning("client rate limited after repeated failed attempts", metadata: ["client": "\(client.name)", "source": "\(source.text)"])
            let event = AuditEvent.clientRateLimited(
                at: wallNow, resource: client.resource, clientAddress: source.text, settings: limit.settings)
            return refuseLimited(request, key: key, client: client, event: event)
        }
        attempt.arrived = wallNow
        attempt.admission = limit.ticket(clock: clock)
        return .decide(Login(request: request, key: key, client: client, attempt: attempt))
    }

    /// The core's verdict: the reply to send and cache, or nothing when the work was shed (the NAS has given up) or
    /// no reply fits.
    mutating func verdictReached(_ verdict: Verdict, for login: Login, now: NIODeadline) -> Action {
        if case .dropped(let reason) = verdict {
            cache.requestAbandoned(login.key, authenticator: login.request.authenticator)
            return .drop(reason, client: login.client.name)
        }
        let answer = RADIUSAccessMapping.reply(to: login.request, verdict: verdict) { grant in
            replyRules.attributes(for: grant, client: login.client.name)
        }
        return reply(answer, to: login.request, key: login.key, client: login.client, now: now)
    }

    /// The login was never handed to the core (shutting down): its retransmit may be decided afresh.
    mutating func abandoned(_ login: Login) {
        login.attempt.admission?.ended(failed: false)
        cache.requestAbandoned(login.key, authenticator: login.request.authenticator)
    }

    /// A refusal for a limited client is not cached: a retransmit is refused again just as cheaply, and a flood of
    /// them does not fill the cache.
    private mutating func refuseLimited(_ request: RADIUSPacket, key: DuplicateCache.Key, client: RADIUSClient, event: AuditEvent?) -> Action {
        cache.requestAbandoned(key, authenticator: request.authenticator)
        guard let reply = Self.encode(RADIUSAccessMapping.reply(to: request, refusal: .clientRateLimited), to: request, client: client, logger: logger)
        else { return .drop(.rateLimited, client: client.name) }
        counters?.replySent(.accessReject, client: client.id)
        return .refuseLimited(reply, event: event, client: client.name)
    }

    /// Encodes the reply and caches it for retransmits (RFC 5080 §2.2.2), or forgets the request when none fits.
    private mutating func reply(
        _ answer: (RADIUSCode, [RADIUSAttribute]), to request: RADIUSPacket, key: DuplicateCache.Key, client: RADIUSClient,
        now: NIODeadline
    ) -> Action {
        guard let reply = Self.encode(answer, to: request, client: client, logger: logger) else {
            cache.requestAbandoned(key, authenticator: request.authenticator)
            return .drop(.replyTooLarge, client: client.name)
        }
        cache.replySent(key, authenticator: request.authenticator, reply: reply, now: now)
        counters?.replySent(answer.0, client: client.id)
        return .send(reply)
    }

    /// Message-Authenticator first (RFC 3579 §3.2), then the Response Authenticator; nil when no reply fits.
    static func encode(_ answer: (RADIUSCode, [RADIUSAttribute]), to request: RADIUSPacket, client: RADIUSClient, logger: Logger) -> [UInt8]? {
        guard let attributes = fitting(answer.1) else {
            logger.warning(
                "dropped request: its reply, with the Proxy-State to copy and the reply attributes, does not fit in 4096 octets", metadata: ["client": "\(client.name)"])
            return nil
        }
        return RADIUSPacket.encodeReply(
            code: answer.0, identifier: request.identifier, attributes: attributes, requestAuthenticator: request.authenticator,
            secret: client.secret)
    }

    /// The reply's attributes, cut to fit in a packet, or nil when they cannot be.
    ///
    /// RFC 2865 §5.33 has every Proxy-State of the request copied into the reply, and RFC 2865 §3 caps a packet at
    /// 4096 octets, so a request filled with Proxy-State leaves no room for the rest of the reply (and the encoder
    /// refuses an oversized packet). Reply-Message is optional, so it goes first; if the reply still does not fit,
    /// no correct reply exists and the request is silently discarded, as RFC 2865 §3 does with what it cannot serve.
    static func fitting(_ attributes: [RADIUSAttribute]) -> [RADIUSAttribute]? {
        func length(_ attributes: [RADIUSAttribute]) -> Int {
            // Header, the Message-Authenticator the encoder puts first, then the attributes.
            attributes.reduce(RADIUSPacket.minimumLength + 18) { $0 + 2 + $1.value.count }
        }
        if length(attributes) <= RADIUSPacket.maximumLength { return attributes }
        let shortened = attributes.filter { $0.type != .replyMessage }
        return length(shortened) <= RADIUSPacket.maximumLength ? shortened : nil
    }
}
