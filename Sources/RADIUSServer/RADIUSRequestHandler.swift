import Logging
import MFACore
import NIOCore
import RADIUSCodec
import ServerSupport

/// One UDP socket's or RadSec connection's read loop: feeds each packet to its `RADIUSRequestStep` and runs the
/// action it returns. Everything cheap (client lookup, decoding, Message-Authenticator, duplicate cache,
/// Status-Server) happens inline; each login is decided on its own task, so a slow decision never blocks the loop.
/// A RadSec connection's frames come as envelopes from its peer (`RadSecConnectionHandler`), so both transports
/// share this loop.
final class RADIUSRequestHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private var step: RADIUSRequestStep
    private let authenticator: any LoginAuthenticator
    private var unknownSources: RateLimitedDropLog
    private let inFlight: InFlightRequests
    private let audit: (any AuditSink)?
    private let drops: DropReport
    private let logger: Logger
    /// The socket's event loop as a task executor, for the logins it receives.
    private let executor: EventLoopTaskExecutor
    private var flushScheduled = false
    /// The last datagram's source address and its text: a NAS sends from one address, and the text is formatted
    /// (`inet_ntop`, a new string) for every datagram otherwise.
    private var lastSource: (address: [UInt8], text: String)?
    /// A RadSec connection's client, chosen at its handshake; nil on a UDP socket, where each datagram's source
    /// picks its client.
    private let connectionClient: RADIUSClient?

    init(
        step: RADIUSRequestStep, connectionClient: RADIUSClient? = nil, authenticator: any LoginAuthenticator,
        inFlight: InFlightRequests, audit: (any AuditSink)?, drops: DropReport, executor: EventLoopTaskExecutor, logger: Logger
    ) {
        self.step = step
        self.connectionClient = connectionClient
        self.executor = executor
        self.inFlight = inFlight
        self.audit = audit
        self.drops = drops
        self.authenticator = authenticator
        self.unknownSources = RateLimitedDropLog(interval: .seconds(60))
        self.logger = logger
    }

    /// The duplicate cache's size and its requests being decided (for tests: malformed input must not grow them).
    var cacheCounts: (entries: Int, inProgress: Int) { (step.cache.count, step.cache.inProgress) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let destination = envelope.remoteAddress
        guard let address = destination.addressBytes else { return }
        let text: String
        if let lastSource, lastSource.address == address {
            text = lastSource.text
        } else {
            text = destination.ipAddress ?? ""
            lastSource = (address, text)
        }
        let source = RADIUSRequestStep.Source(address: address, port: destination.port ?? 0, text: text)
        let packet = Array(envelope.data.readableBytesView)
        let action =
            if let connectionClient {
                step.packetReceived(packet, from: source, client: connectionClient, now: .now())
            } else {
                step.datagramReceived(packet, from: source, now: .now())
            }
        run(action, to: destination, context: context)
    }

    private func run(_ action: RADIUSRequestStep.Action, to destination: SocketAddress, context: ChannelHandlerContext) {
        switch action {
        case .drop(.unknownClient, _):
            step.counters?.requestDropped(.unknownClient)
            if unknownSources.shouldLog(now: .now()) {
                logger.warning(
                    "dropped request from unknown client",
                    metadata: ["source": "\(destination.ipAddress ?? "?")", "dropped": "\(unknownSources.dropped)"])
            }
        case .drop(let reason, let client):
            if let reason, let client {
                step.counters?.requestDropped(reason)
                drops.dropped(reason, client: client)
            }
            // RFC 6613 §2.6.4: on a stream, what UDP silently discards also closes the connection, as the next
            // packet's start can no longer be trusted. A well-formed packet of a code not served here (accounting
            // shares the port, RFC 6614 §2.1) and a retransmit under way are only discarded.
            if connectionClient != nil, reason == .malformed || reason == .badAuthenticator {
                context.close(promise: nil)
            }
        case .send(let reply):
            write(reply, to: destination, context: context)
        case .decide(let login):
            decide(login, destination: destination, context: context)
        case .refuseLimited(let reply, let event, let client):
            drops.dropped(.rateLimited, client: client)
            guard let event else { return write(reply, to: destination, context: context) }
            // Once per episode: the event is stored before the reply leaves, as a decision's is.
            let audit = self.audit
            fromTask(to: destination, context: context) {
                await audit?.record(event)
                return .send(reply)
            } cancelled: {}
        }
    }

    /// What a task hands back to the loop.
    private enum Finished: Sendable {
        case verdict(Verdict, RADIUSRequestStep.Login)
        case send([UInt8])
    }

    private func decide(_ login: RADIUSRequestStep.Login, destination: SocketAddress, context: ChannelHandlerContext) {
        // Joined to a pending push as it arrives, before any wait.
        let attempt = authenticator.attemptReceived(login.attempt)
        let authenticator = self.authenticator
        fromTask(to: destination, context: context) {
            .verdict(await authenticator.authenticate(attempt), login)
        } cancelled: {
            self.step.abandoned(login)
        }
    }

    /// Runs `work` on a task of its own, on this loop's executor, then acts on what it returns, on the loop; while the
    /// task waits (store, push), the loop goes on with other requests. `cancelled` runs instead when shutting down.
    private func fromTask(
        to destination: SocketAddress, context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Finished,
        cancelled: () -> Void
    ) {
        guard inFlight.begin() else { return cancelled() }
        let inFlight = self.inFlight
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        // Decided on this loop: no hand-off to the cooperative pool and back.
        executor.run(work) { finished in
            let (handler, context) = bound.value
            switch finished {
            case .verdict(let verdict, let login):
                handler.run(handler.step.verdictReached(verdict, for: login, now: .now()), to: destination, context: context)
            case .send(let reply):
                handler.write(reply, to: destination, context: context)
            }
            inFlight.end()
        }
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

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A UDP socket reports ICMP errors of earlier sends here; the socket itself is fine. A connection's errors
        // (its TLS, its framing) end it.
        logger.debug("socket error", metadata: ["error": "\(error)"])
        if connectionClient != nil { context.close(promise: nil) }
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
