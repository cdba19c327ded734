import CountersignConfig
import LDAPCodec
import Logging
import MFACore
import NIOCore
import NIOSSL
import ServerSupport

/// One application connection. Binds are intercepted: the directory checks the password, the MFA core the second
/// factor, and only then does the application see success. Everything else passes through to this connection's
/// own directory connection, message IDs unchanged; either side closing closes the other.
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
        var resourceName: String
    }

    private enum BindState {
        case none
        /// The directory is checking the password of this bind.
        case awaitingDirectory(messageID: Int32, username: String, factor: AppendedFactor)
        /// The MFA core is deciding (a push may be waiting on the user).
        case deciding(messageID: Int32)
    }

    private enum UpstreamState {
        case none
        case connecting(queued: [[UInt8]])
        case connected(LDAPUpstream)
    }

    private let configuration: Configuration
    private let authenticator: any LoginAuthenticator
    private let audit: any AuditSink
    private let logger: Logger
    private var bind = BindState.none
    private var upstream = UpstreamState.none
    /// RFC 4511 §4.2.1: clients send nothing during a bind; what comes anyway waits for its end (bounded).
    private var heldDuringBind: [[UInt8]] = []
    private var tlsActive: Bool
    private var clientAddress = ""
    private static let maximumHeld = 16

    init(
        configuration: Configuration, authenticator: any LoginAuthenticator, audit: any AuditSink, tlsActive: Bool,
        logger: Logger
    ) {
        self.configuration = configuration
        self.authenticator = authenticator
        self.audit = audit
        self.tlsActive = tlsActive
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        clientAddress = context.remoteAddress?.ipAddress ?? ""
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .none = bind {
            handle(frame, context: context)
        } else {
            guard heldDuringBind.count < Self.maximumHeld else {
                return disconnect(context, .protocolError, "too many operations during a bind")
            }
            heldDuringBind.append(frame)
        }
    }

    private func handle(_ frame: [UInt8], context: ChannelHandlerContext) {
        let message: LDAPMessage
        do {
            message = try LDAPMessage(decoding: frame)
        } catch {
            return disconnect(context, .protocolError, "malformed message")
        }
        switch message.protocolOp {
        case .bindRequest(let request):
            handleBind(request, message: message, context: context)
        case .unbindRequest:
            // RFC 4511 §4.3: no response; both connections end.
            if case .connected(let upstream) = upstream { upstream.send(frame) }
            context.close(promise: nil)
        case .extendedRequest(let name, _) where name == LDAPOID.startTLS:
            startTLS(message, context: context)
        default:
            sendUpstream(frame, context: context)
        }
    }

    // MARK: Bind

    private func handleBind(_ request: LDAPBindRequest, message: LDAPMessage, context: ChannelHandlerContext) {
        guard request.version == 3 else {
            return respondToBind(message.messageID, refusal: .unsupportedVersion, context: context)
        }
        guard case .simple(let password) = request.authentication else {
            return respondToBind(message.messageID, refusal: .saslNotSupported, context: context)
        }
        switch configuration.policy.decide(name: request.name, password: password) {
        case .passThrough:
            sendUpstream(message.encoded(), context: context)
        case .refuse(let refusal):
            respondToBind(message.messageID, refusal: refusal, context: context)
            record(user: request.name, result: .failure, error: "\(refusal)")
        case .withSecondFactor(let username, let directoryPassword, let factor):
            // The directory sees the password without the appended factor; the message ID stays the client's.
            var forwarded = message
            forwarded.protocolOp = .bindRequest(
                LDAPBindRequest(version: 3, name: request.name, authentication: .simple(password: directoryPassword)))
            bind = .awaitingDirectory(messageID: message.messageID, username: username, factor: factor)
            sendUpstream(forwarded.encoded(), context: context)
        }
    }

    /// A message from the directory: the answer to an intercepted bind, or anything else for the application.
    private func upstreamMessage(_ frame: [UInt8], context: ChannelHandlerContext) {
        guard case .awaitingDirectory(let messageID, let username, let factor) = bind,
            let message = try? LDAPMessage(decoding: frame), message.messageID == messageID,
            case .bindResponse(let result, _) = message.protocolOp
        else {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame)), promise: nil)
            return
        }
        guard result.resultCode == .success else {
            // Wrong password (or another refusal): the directory's own answer.
            bind = .none
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: frame)), promise: nil)
            record(user: username, result: .failure, error: RejectReason.invalidCredentials.rawValue)
            releaseHeld(context: context)
            return
        }
        bind = .deciding(messageID: messageID)
        let attempt = LoginAttempt(
            username: username, secret: "", delivery: .afterPrimary(factor, primary: .valid),
            resource: Resource(kind: .ldap, name: configuration.resourceName), clientAddress: clientAddress)
        let authenticator = self.authenticator
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        // Decided on this connection's loop: no hand-off to the cooperative pool and back.
        Task(executorPreference: EventLoopTaskExecutor(loop)) {
            let verdict = await authenticator.authenticate(attempt)
            loop.execute {
                let (handler, context) = bound.value
                handler.finishBind(messageID: messageID, verdict: verdict, context: context)
            }
        }
    }

    private func finishBind(messageID: Int32, verdict: Verdict, context: ChannelHandlerContext) {
        bind = .none
        switch verdict {
        case .accept:
            writeBindResponse(messageID, .success, "", context: context)
        case .reject(let reason):
            // The directory connection is bound as the user now: drop it, so nothing runs with that identity.
            dropUpstream()
            writeBindResponse(messageID, .invalidCredentials, reason.userMessage, context: context)
        case .challenge:
            dropUpstream()
            writeBindResponse(messageID, .invalidCredentials, RejectReason.codeRequired.userMessage, context: context)
        case .dropped:
            dropUpstream()
            writeBindResponse(messageID, .busy, "server busy, try again later", context: context)
        }
        releaseHeld(context: context)
    }

    private func releaseHeld(context: ChannelHandlerContext) {
        while case .none = bind, !heldDuringBind.isEmpty {
            handle(heldDuringBind.removeFirst(), context: context)
        }
    }

    private func respondToBind(_ messageID: Int32, refusal: LDAPRefusal, context: ChannelHandlerContext) {
        let (code, text) = refusal.result
        writeBindResponse(messageID, code, text, context: context)
    }

    private func writeBindResponse(_ messageID: Int32, _ code: LDAPResultCode, _ text: String, context: ChannelHandlerContext) {
        let response = LDAPMessage(
            messageID: messageID,
            protocolOp: .bindResponse(LDAPResult(resultCode: code, matchedDN: "", diagnosticMessage: text, referral: nil), serverSaslCreds: nil),
            controls: nil)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: response.encoded())), promise: nil)
    }

    private func record(user: String, result: AuditResult, error: String?) {
        let event = AuditEvent(
            time: .now, type: .ldapBind, user: user, resource: "ldap:\(configuration.resourceName)",
            clientAddress: clientAddress, result: result, error: error)
        let audit = self.audit
        Task { await audit.record(event) }
    }

    // MARK: StartTLS

    /// RFC 4511 §4.14 / RFC 4513 §3: answer success, then everything after that answer is TLS.
    private func startTLS(_ message: LDAPMessage, context: ChannelHandlerContext) {
        guard let tls = configuration.serverTLS, !tlsActive, case .none = upstream else {
            let result = LDAPResult(
                resultCode: .operationsError, matchedDN: "",
                diagnosticMessage: configuration.serverTLS == nil ? "StartTLS is not available" : "StartTLS not allowed now",
                referral: nil)
            let response = LDAPMessage(
                messageID: message.messageID, protocolOp: .extendedResponse(result, name: LDAPOID.startTLS, value: nil), controls: nil)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: response.encoded())), promise: nil)
            return
        }
        tlsActive = true
        let success = LDAPMessage(
            messageID: message.messageID,
            protocolOp: .extendedResponse(
                LDAPResult(resultCode: .success, matchedDN: "", diagnosticMessage: "", referral: nil), name: LDAPOID.startTLS,
                value: nil),
            controls: nil)
        // The TLS handler goes in once the answer is on the wire: the answer is the last plain-text message, and the
        // client sends its ClientHello only after reading it.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: success.encoded()))).assumeIsolated().whenSuccess {
            try? channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
        }
    }

    // MARK: The directory connection

    private func sendUpstream(_ frame: [UInt8], context: ChannelHandlerContext) {
        switch upstream {
        case .connected(let connection):
            connection.send(frame)
        case .connecting(var queued):
            queued.append(frame)
            upstream = .connecting(queued: queued)
        case .none:
            upstream = .connecting(queued: [frame])
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            LDAPUpstream.connect(
                configuration.upstream, tls: configuration.upstreamTLS, maximumMessageSize: configuration.maximumMessageSize,
                on: context.eventLoop
            ).assumeIsolated().whenComplete { result in
                let (handler, context) = bound.value
                handler.upstreamConnected(result, context: context)
            }
        }
    }

    private func upstreamConnected(_ result: Result<LDAPUpstream, any Error>, context: ChannelHandlerContext) {
        guard case .connecting(let queued) = upstream else {
            if case .success(let connection) = result { connection.close() }
            return
        }
        switch result {
        case .failure(let error):
            logger.warning("cannot reach the directory", metadata: ["error": "\(error)"])
            upstream = .none
            disconnect(context, .unavailable, "the directory is unavailable")
        case .success(let connection):
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            connection.onMessage = { frame in
                let (handler, context) = bound.value
                handler.upstreamMessage(frame, context: context)
            }
            connection.onClose = {
                let (handler, context) = bound.value
                handler.upstream = .none
                context.close(promise: nil)
            }
            upstream = .connected(connection)
            for frame in queued { connection.send(frame) }
        }
    }

    private func dropUpstream() {
        if case .connected(let connection) = upstream { connection.close() }
        upstream = .none
    }

    // MARK: Ending

    /// RFC 4511 §4.4.1: a Notice of Disconnection, then close.
    private func disconnect(_ context: ChannelHandlerContext, _ code: LDAPResultCode, _ text: String) {
        let notice = LDAPMessage.noticeOfDisconnection(code, message: text)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: notice.encoded()))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LDAPDecodingError {
            logger.info("closing a connection that sent a malformed or oversized message", metadata: ["client": "\(clientAddress)"])
            disconnect(context, .protocolError, "malformed or oversized message")
        } else {
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            disconnect(context, .unavailable, "idle timeout")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        dropUpstream()
        context.fireChannelInactive()
    }
}
