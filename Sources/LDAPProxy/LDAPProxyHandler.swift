import CountersignConfig
import LDAPCodec
import Logging
import MFACore
import NIOCore
import NIOSSL
import ServerSupport

/// One application connection: feeds client frames, the directory connection's events and the MFA core's verdicts
/// to its `LDAPProxyStateMachine`, and does what it returns. Either side closing closes the other.
final class LDAPProxyHandler: ChannelInboundHandler {
    typealias InboundIn = [UInt8]
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var upstream: LDAPUpstreamSettings
        var upstreamTLS: NIOSSLContext?
        /// For StartTLS on the plain port; nil when no certificate is configured.
        var serverTLS: NIOSSLContext?
        var policy: LDAPBindPolicy
        var maximumMessageSize: Int
        var resource: Resource
    }

    private var machine: LDAPProxyStateMachine
    private let configuration: Configuration
    private let authenticator: any LoginAuthenticator
    private let audit: any AuditSink
    private let executor: EventLoopTaskExecutor
    private let logger: Logger
    private let clientAddress: String
    private var upstream: LDAPUpstream?

    init(
        configuration: Configuration, clientAddress: String, tlsActive: Bool, authenticator: any LoginAuthenticator,
        audit: any AuditSink, failureLimits: LDAPClientFailureLimits?, inFlight: InFlightRequests, drops: DropReport?,
        clock: any WallClock, executor: EventLoopTaskExecutor, logger: Logger
    ) {
        machine = LDAPProxyStateMachine(
            configuration: LDAPProxyStateMachine.Configuration(
                policy: configuration.policy, resource: configuration.resource, startTLSAvailable: configuration.serverTLS != nil),
            clientAddress: clientAddress, tlsActive: tlsActive, failureLimits: failureLimits, inFlight: inFlight, drops: drops,
            clock: clock)
        self.configuration = configuration
        self.clientAddress = clientAddress
        self.authenticator = authenticator
        self.audit = audit
        self.executor = executor
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        feed(machine.frameReceived(unwrapInboundIn(data)), context: context)
    }

    /// Runs `action`, then what the frames held during a bind lead to, once it is answered.
    private func feed(_ action: LDAPProxyStateMachine.Action, context: ChannelHandlerContext) {
        run(action, context: context)
        while let next = machine.nextHeldAction() { run(next, context: context) }
    }

    private func run(_ action: LDAPProxyStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .send(let bytes):
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        case .sendUpstream(let frames):
            for frame in frames { upstream?.send(frame) }
        case .connectUpstream:
            connectUpstream(context: context)
        case .decide(let attempt):
            // Joined to a pending push of the same attempt as it arrives, before any wait.
            let attempt = authenticator.attemptReceived(attempt)
            let authenticator = self.authenticator
            fromTask(context: context) { .verdict(await authenticator.authenticate(attempt)) }
        case .prepare(let username, let code, let number, let then):
            // The bind goes to the directory first: its check is the longer wait, and the read's task starts after.
            run(then, context: context)
            let authenticator = self.authenticator
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            executor.run({ await authenticator.prepare(for: username, code: code) }) { prepared in
                let (handler, context) = bound.value
                handler.feed(handler.machine.credentialsPrepared(prepared, bind: number), context: context)
            }
        case .release(let prepared, let then):
            let authenticator = self.authenticator
            executor.run({ await authenticator.release(prepared) }) { _ in }
            run(then, context: context)
        case .record(let event):
            if event.type == .clientRateLimited {
                logger.warning("LDAP client rate limited after repeated failed binds", metadata: ["client": "\(clientAddress)"])
            }
            let audit = self.audit
            fromTask(context: context) {
                await audit.record(event)
                return .recorded
            }
        case .dropUpstreamAndSend(let bytes):
            closeUpstream()
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
        case .startTLS(let bytes):
            // The answer is the last plain-text message; the client sends its ClientHello only after reading it.
            let channel = context.channel
            let tls = configuration.serverTLS
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes))).assumeIsolated().whenSuccess {
                if let tls { try? channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first) }
                self.machine.startTLSWritten()
            }
        case .unbind(let forward):
            if let forward { upstream?.send(forward) }
            context.close(promise: nil)
        case .disconnect(let code, let text):
            let notice = LDAPMessage.noticeOfDisconnection(code, message: text)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: notice.encoded()))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .close:
            context.close(promise: nil)
        case .dropUpstream:
            closeUpstream()
        }
    }

    /// What a task hands back to the loop.
    private enum Finished: Sendable {
        case verdict(Verdict)
        case recorded
    }

    /// Runs `work` on a task of its own on this loop's executor (no hand-off to the cooperative pool and back), then
    /// gives its outcome to the state machine on the loop; meanwhile the loop serves other connections.
    private func fromTask(context: ChannelHandlerContext, _ work: @escaping @Sendable () async -> Finished) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        executor.run(work) { finished in
            let (handler, context) = bound.value
            switch finished {
            case .verdict(let verdict): handler.feed(handler.machine.verdictReached(verdict), context: context)
            case .recorded: handler.feed(handler.machine.eventRecorded(), context: context)
            }
        }
    }

    // MARK: The directory connection

    private func connectUpstream(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        LDAPUpstream.connect(
            configuration.upstream, tls: configuration.upstreamTLS, maximumMessageSize: configuration.maximumMessageSize,
            on: context.eventLoop
        ).assumeIsolated().whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .failure(let error):
                handler.logger.warning("cannot reach the directory", metadata: ["error": "\(error)"])
                handler.feed(handler.machine.upstreamFailed(), context: context)
            case .success(let connection):
                connection.onMessage = { frame in
                    let (handler, context) = bound.value
                    handler.feed(handler.machine.upstreamMessage(frame), context: context)
                }
                connection.onClose = {
                    let (handler, context) = bound.value
                    handler.upstream = nil
                    handler.feed(handler.machine.upstreamClosed(), context: context)
                }
                handler.upstream = connection
                handler.feed(handler.machine.upstreamConnected(), context: context)
            }
        }
    }

    private func closeUpstream() {
        upstream?.close()
        upstream = nil
    }

    // MARK: Ending

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LDAPDecodingError {
            logger.info("closing a connection that sent a malformed or oversized message", metadata: ["client": "\(clientAddress)"])
            feed(machine.disconnect(.protocolError, "malformed or oversized message"), context: context)
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            feed(machine.disconnect(.unavailable, "idle timeout"), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(machine.connectionClosed(), context: context)
        context.fireChannelInactive()
    }
}
