import Logging
import MFACore
import NIOCore
import RADIUSCodec
import ServerSupport

/// One UDP socket's read loop. Everything cheap (client lookup, decoding, Message-Authenticator, duplicate cache,
/// Status-Server) happens inline; each login is decided on its own task, so a slow decision never blocks the loop.
final class RADIUSRequestHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let clients: RADIUSClientTable
    private let authenticator: any LoginAuthenticator
    private let delimiter: Character
    private var cache: DuplicateCache
    private var unknownSources: RateLimitedDropLog
    private let inFlight: InFlightRequests
    private let clock: any WallClock
    private let audit: (any AuditSink)?
    private let logger: Logger
    /// The socket's event loop as a task executor, for the logins it receives.
    private let executor: EventLoopTaskExecutor
    private var flushScheduled = false

    init(
        clients: RADIUSClientTable, authenticator: any LoginAuthenticator, delimiter: Character,
        duplicateWindow: TimeAmount, inFlight: InFlightRequests, clock: any WallClock,
        audit: (any AuditSink)?, executor: EventLoopTaskExecutor, logger: Logger
    ) {
        self.executor = executor
        self.inFlight = inFlight
        self.clock = clock
        self.audit = audit
        self.clients = clients
        self.authenticator = authenticator
        self.delimiter = delimiter
        self.cache = DuplicateCache(lifetime: duplicateWindow)
        self.unknownSources = RateLimitedDropLog(interval: .seconds(60))
        self.logger = logger
    }

    /// The duplicate cache's size and its requests being decided (for tests: malformed input must not grow them).
    var cacheCounts: (entries: Int, inProgress: Int) { (cache.count, cache.inProgress) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let source = envelope.remoteAddress
        guard let sourceBytes = source.addressBytes, let client = clients.client(for: sourceBytes) else {
            // RFC 2865 §3: requests from unknown clients are silently discarded.
            if unknownSources.shouldLog(now: .now()) {
                logger.warning(
                    "dropped request from unknown client",
                    metadata: ["source": "\(source.ipAddress ?? "?")", "dropped": "\(unknownSources.dropped)"])
            }
            return
        }
        let raw = Array(envelope.data.readableBytesView)
        guard let request = try? RADIUSPacket(decoding: raw) else {
            logger.debug("dropped malformed packet", metadata: ["client": "\(client.name)"])
            return
        }
        guard request.code == .accessRequest || request.code == .statusServer else {
            logger.debug("dropped packet of unserved code", metadata: ["client": "\(client.name)", "code": "\(request.code)"])
            return
        }
        // RFC 3579 §3.2: a wrong Message-Authenticator is silently discarded; RFC 5997 §3 requires one on
        // Status-Server; BlastRADIUS: a client marked as sending it must always send it.
        switch RADIUSAuthenticators.checkMessageAuthenticator(raw: raw, secret: client.secret) {
        case .valid:
            break
        case .absent where !client.requireMessageAuthenticator && request.code == .accessRequest:
            break
        case .absent, .invalid:
            logger.debug("dropped request without a valid Message-Authenticator", metadata: ["client": "\(client.name)"])
            return
        }

        if request.code == .statusServer {
            // RFC 5997 §3: answered with Access-Accept, no side effects.
            send(.accessAccept, [], to: request, client: client, destination: source, context: context)
            return
        }

        let key = DuplicateCache.Key(sourceAddress: sourceBytes, sourcePort: source.port ?? 0, identifier: request.identifier)
        switch cache.requestReceived(key, authenticator: request.authenticator, now: .now()) {
        case .new:
            break
        case .dropInProgress:
            logger.debug("dropped retransmit of a request being decided", metadata: ["client": "\(client.name)"])
            return
        case .dropOverloaded:
            logger.warning("dropped request: too many in flight", metadata: ["client": "\(client.name)"])
            return
        case .resend(let reply):
            write(reply, to: source, context: context)
            return
        }

        let attempt: LoginAttempt
        do {
            attempt = try RADIUSAccessMapping.loginAttempt(
                from: request, client: client, clientAddress: source.ipAddress ?? "", delimiter: delimiter)
        } catch {
            reply(RADIUSAccessMapping.reply(to: request, refusal: error), to: request, key: key, client: client, source: source, context: context)
            return
        }

        switch admission(client, source: source) {
        case .admitted:
            let authenticator = self.authenticator
            let clock = self.clock
            answerFromTask(request, key: key, client: client, source: source, context: context) {
                let verdict = await authenticator.authenticate(attempt)
                // Counted before the reply leaves, so the client's next request already sees it.
                if case .reject(let reason) = verdict, reason.isFailedAttempt {
                    client.failureLimit?.failureRecorded(now: clock.now())
                }
                return RADIUSAccessMapping.reply(to: request, verdict: verdict)
            }
        case .limited:
            reply(
                RADIUSAccessMapping.reply(to: request, refusal: .clientRateLimited), to: request, key: key, client: client,
                source: source, context: context)
        case .limitBegan(let event):
            // Once per episode: the event is stored before the reply leaves, as a decision's is.
            let audit = self.audit
            answerFromTask(request, key: key, client: client, source: source, context: context) {
                await audit?.record(event)
                return RADIUSAccessMapping.reply(to: request, refusal: .clientRateLimited)
            }
        }
    }

    private enum Admission {
        case admitted
        /// Refused undecided: the client's failed attempts emptied its bucket.
        case limited
        /// Refused undecided, the first of an episode: `event` reports it.
        case limitBegan(AuditEvent)
    }

    /// The client's failure bucket's answer; logs when an episode begins and ends.
    private func admission(_ client: RADIUSClient, source: SocketAddress) -> Admission {
        guard let limit = client.failureLimit else { return .admitted }
        let now = clock.now()
        switch limit.attemptReceived(now: now) {
        case .admitted:
            return .admitted
        case .limitEnded(let refused):
            logger.notice(
                "client no longer rate limited",
                metadata: ["client": "\(client.name)", "source": "\(source.ipAddress ?? "?")", "refused": "\(refused)"])
            return .admitted
        case .limitBegan:
            logger.warning(
                "client rate limited after repeated failed attempts",
                metadata: ["client": "\(client.name)", "source": "\(source.ipAddress ?? "?")"])
            let settings = limit.settings
            return .limitBegan(
                AuditEvent(
                    time: now, type: .clientRateLimited, user: nil, resource: client.resource.description,
                    clientAddress: source.ipAddress, result: .failure, error: "too_many_failures",
                    details: ["rate": "\(Int(settings.rate))", "burst": "\(Int(settings.burst))"]))
        case .limited:
            return .limited
        }
    }

    /// Runs `decide` on a task of its own, on this loop's executor, then replies; while the task waits (store, push),
    /// the loop goes on with other requests.
    private func answerFromTask(
        _ request: RADIUSPacket, key: DuplicateCache.Key, client: RADIUSClient, source: SocketAddress,
        context: ChannelHandlerContext, _ decide: @escaping @Sendable () async -> (RADIUSCode, [RADIUSAttribute])
    ) {
        guard inFlight.begin() else {
            // Shutting down: no new decisions.
            cache.requestAbandoned(key, authenticator: request.authenticator)
            return
        }
        let inFlight = self.inFlight
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        // Decided on this loop: no hand-off to the cooperative pool and back.
        Task(executorPreference: executor) {
            let answer = await decide()
            let finish: @Sendable () -> Void = {
                let (handler, context) = bound.value
                handler.reply(answer, to: request, key: key, client: client, source: source, context: context)
                inFlight.end()
            }
            if loop.inEventLoop { finish() } else { loop.execute(finish) }
        }
    }

    /// Sends the reply and caches it for retransmits (RFC 5080 §2.2.2), or forgets the request when none fits.
    private func reply(
        _ answer: (RADIUSCode, [RADIUSAttribute]), to request: RADIUSPacket, key: DuplicateCache.Key, client: RADIUSClient,
        source: SocketAddress, context: ChannelHandlerContext
    ) {
        if let reply = send(answer.0, answer.1, to: request, client: client, destination: source, context: context) {
            cache.replySent(key, authenticator: request.authenticator, reply: reply, now: .now())
        } else {
            cache.requestAbandoned(key, authenticator: request.authenticator)
        }
    }

    /// Encodes (Message-Authenticator first, RFC 3579 §3.2; Response Authenticator), writes, returns the bytes for the
    /// cache; nil, and nothing sent, when no reply fits in a packet.
    @discardableResult
    private func send(
        _ code: RADIUSCode, _ attributes: [RADIUSAttribute], to request: RADIUSPacket, client: RADIUSClient,
        destination: SocketAddress, context: ChannelHandlerContext
    ) -> [UInt8]? {
        guard let attributes = Self.fitting(attributes) else {
            logger.warning(
                "dropped request: its Proxy-State leaves no room for a reply within 4096 octets",
                metadata: ["client": "\(client.name)"])
            return nil
        }
        let reply = RADIUSPacket.encodeReply(
            code: code, identifier: request.identifier, attributes: attributes,
            requestAuthenticator: request.authenticator, secret: client.secret)
        write(reply, to: destination, context: context)
        return reply
    }

    /// Queues a datagram and flushes once the loop has run what is queued: the replies of one group commit resume
    /// together, and leave in one `sendmmsg` instead of a system call each.
    private func write(_ datagram: [UInt8], to destination: SocketAddress, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: destination, data: ByteBuffer(bytes: datagram))), promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            context.flush()
        }
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

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A UDP socket reports ICMP errors of earlier sends here; the socket itself is fine.
        logger.debug("socket error", metadata: ["error": "\(error)"])
    }
}

/// Logs a kind of drop at most once per interval, with how many happened meanwhile.
struct RateLimitedDropLog {
    let interval: TimeAmount
    private var lastLogged: NIODeadline?
    private(set) var dropped = 0

    init(interval: TimeAmount) {
        self.interval = interval
    }

    mutating func shouldLog(now: NIODeadline) -> Bool {
        dropped += 1
        if let lastLogged, now < lastLogged + interval { return false }
        lastLogged = now
        return true
    }
}

extension SocketAddress {
    /// The raw address octets (4 or 16), the form client networks are matched against.
    var addressBytes: [UInt8]? {
        switch self {
        case .v4(let address):
            withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
        case .v6(let address):
            withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            nil
        }
    }
}
