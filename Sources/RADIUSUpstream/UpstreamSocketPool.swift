import Logging
import MFACore
import NIOCore
import NIOPosix
import RADIUSCodec

/// The UDP sockets Countersign's own Access-Requests leave from, for one address family: bound when first needed,
/// each with up to 256 requests in flight (`UpstreamIdentifierTable`). The rules live in that table; this class
/// owns the lock, the waiting requests, the sockets and the timers.
final class UpstreamSocketPool: Sendable {
    /// One request waiting for its reply.
    private struct Pending {
        /// Tells this exchange from a later one on the same slot, for the timers it left behind.
        var exchange: UInt64
        var server: SocketAddress
        var check: UpstreamReplyCheck
        var continuation: CheckedContinuation<RADIUSPacket?, Never>
        var timers: [Scheduled<Void>] = []
    }

    private struct State {
        var table: UpstreamIdentifierTable
        var sockets: [EventLoopFuture<any Channel>] = []
        var pending: [UpstreamIdentifierTable.Slot: Pending] = [:]
        /// Requests waiting for a free Identifier, first come first served.
        var waiting: [CheckedContinuation<UpstreamIdentifierTable.Slot?, Never>] = []
        var nextExchange: UInt64 = 0
        var closed = false
    }

    private let state: Locked<State>
    private let bindHost: String
    private let group: any EventLoopGroup
    private let logger: Logger

    /// `bindHost` is the family's any-address: `0.0.0.0` or `::`.
    init(bindHost: String, maximumSockets: Int, group: any EventLoopGroup, logger: Logger) {
        state = Locked(State(table: UpstreamIdentifierTable(maximumSockets: maximumSockets)))
        self.bindHost = bindHost
        self.group = group
        self.logger = logger
    }

    /// Sends what `encode` makes of an Identifier to `server`, again after each `timeout / (retransmits + 1)` with
    /// the same Identifier and authenticator (RFC 5080 §2.2.1), and returns the first datagram `check` accepts; nil
    /// when none came within `timeout`.
    func exchange(
        with server: SocketAddress, timeout: TimeAmount, retransmits: Int,
        encode: (UInt8) -> (datagram: [UInt8], check: UpstreamReplyCheck)
    ) async -> RADIUSPacket? {
        guard let slot = await reserve() else { return nil }
        defer { release(slot) }
        let socket = state.withLock { $0.sockets[slot.socket] }
        guard let channel = try? await socket.get() else { return nil }
        let (datagram, check) = encode(slot.identifier)
        let envelope = AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: datagram))
        return await withCheckedContinuation { continuation in
            let exchange = state.withLock { state -> UInt64? in
                guard !state.closed else { return nil }
                state.nextExchange += 1
                state.pending[slot] = Pending(
                    exchange: state.nextExchange, server: server, check: check, continuation: continuation)
                return state.nextExchange
            }
            guard let exchange else { return continuation.resume(returning: nil) }
            channel.writeAndFlush(envelope, promise: nil)
            let interval = TimeAmount.nanoseconds(timeout.nanoseconds / Int64(retransmits + 1))
            var timers = (1..<(retransmits + 1)).map { round in
                channel.eventLoop.scheduleTask(in: interval * Int64(round)) { [self] in
                    if isWaiting(slot, exchange) { channel.writeAndFlush(envelope, promise: nil) }
                }
            }
            timers.append(channel.eventLoop.scheduleTask(in: timeout) { [self] in finish(slot, exchange, with: nil) })
            let finished = state.withLock { state in
                guard state.pending[slot]?.exchange == exchange else { return true }
                state.pending[slot]?.timers = timers
                return false
            }
            // Answered before the timers were stored: they would find nothing, but need not run.
            if finished { for timer in timers { timer.cancel() } }
        }
    }

    /// Every socket closed; the requests in flight and those waiting end without a reply.
    func close() async {
        let (sockets, pending, waiting) = state.withLock { state in
            state.closed = true
            defer {
                state.pending = [:]
                state.waiting = []
            }
            return (state.sockets, Array(state.pending.values), state.waiting)
        }
        for request in pending {
            for timer in request.timers { timer.cancel() }
            request.continuation.resume(returning: nil)
        }
        for waiter in waiting { waiter.resume(returning: nil) }
        for socket in sockets { try? await socket.get().close() }
    }

    // MARK: Identifiers

    private func reserve() async -> UpstreamIdentifierTable.Slot? {
        await withCheckedContinuation { continuation in
            let reservation = state.withLock { state -> UpstreamIdentifierTable.Reservation? in
                guard !state.closed else { return nil }
                let reservation = state.table.reserve()
                switch reservation {
                case .reserved(_, opensSocket: true): state.sockets.append(bind(socket: state.sockets.count))
                case .reserved(_, opensSocket: false): break
                case .full: state.waiting.append(continuation)
                }
                return reservation
            }
            switch reservation {
            case nil: continuation.resume(returning: nil)
            case .reserved(let slot, _): continuation.resume(returning: slot)
            case .full: break  // resumed by `release`
            }
        }
    }

    /// A finished request's Identifier goes to the first waiting request, or back to the table.
    private func release(_ slot: UpstreamIdentifierTable.Slot) {
        let waiter = state.withLock { state in
            guard !state.closed, !state.waiting.isEmpty else {
                state.table.release(slot)
                return CheckedContinuation<UpstreamIdentifierTable.Slot?, Never>?.none
            }
            return state.waiting.removeFirst()
        }
        waiter?.resume(returning: slot)
    }

    // MARK: Replies and timers

    private func bind(socket index: Int) -> EventLoopFuture<any Channel> {
        let (logger, bindHost) = (self.logger, self.bindHost)
        return DatagramBootstrap(group: group)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UpstreamReplyHandler { [self] source, datagram in received(datagram, from: source, socket: index) })
                }
            }
            .bind(host: bindHost, port: 0)
            .always { result in
                // Every request on this socket ends unanswered, as if the servers were down: say why.
                if case .failure(let error) = result {
                    logger.error("cannot open a socket for upstream RADIUS requests", metadata: ["address": "\(bindHost)", "error": "\(error)"])
                }
            }
    }

    private func received(_ datagram: [UInt8], from source: SocketAddress, socket: Int) {
        guard datagram.count >= RADIUSPacket.minimumLength else { return }
        let slot = UpstreamIdentifierTable.Slot(socket: socket, identifier: datagram[1])
        // RFC 2865 §3: the reply comes from where the request went; anything else is not this request's.
        guard let request = state.withLock({ $0.pending[slot] }), request.server == source else { return }
        // The MD5 and HMAC outside the lock.
        guard let reply = request.check.reply(datagram) else {
            logger.debug("discarded a reply that is not the request's", metadata: ["server": "\(source)"])
            return
        }
        finish(slot, request.exchange, with: reply)
    }

    private func isWaiting(_ slot: UpstreamIdentifierTable.Slot, _ exchange: UInt64) -> Bool {
        state.withLock { $0.pending[slot]?.exchange == exchange }
    }

    private func finish(_ slot: UpstreamIdentifierTable.Slot, _ exchange: UInt64, with reply: RADIUSPacket?) {
        let request = state.withLock { state -> Pending? in
            guard state.pending[slot]?.exchange == exchange else { return nil }
            return state.pending.removeValue(forKey: slot)
        }
        guard let request else { return }
        for timer in request.timers { timer.cancel() }
        request.continuation.resume(returning: reply)
    }
}

/// Hands each datagram a socket receives to the pool.
private final class UpstreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let onDatagram: @Sendable (SocketAddress, [UInt8]) -> Void

    init(onDatagram: @escaping @Sendable (SocketAddress, [UInt8]) -> Void) {
        self.onDatagram = onDatagram
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        onDatagram(envelope.remoteAddress, Array(envelope.data.readableBytesView))
    }
}
