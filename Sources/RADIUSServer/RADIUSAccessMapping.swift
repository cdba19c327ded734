import CountersignConfig
import MFACore
import RADIUSCodec

/// Between RADIUS and the MFA core: an Access-Request becomes a LoginAttempt, a Verdict becomes a reply.
enum RADIUSAccessMapping {
    enum Refusal: Error, Equatable {
        /// RFC 2865 §4.1: no User-Password (CHAP, EAP …) — only PAP is served.
        case unsupportedAuthentication
        case missingUserName
        case malformedPassword
        /// RFC 2865 §5.44: User-Name, User-Password and State appear at most once in an Access-Request.
        case repeatedAttribute
        /// The client's failed attempts emptied its bucket (`radius.client_failure_rate`); not decided.
        case clientRateLimited
    }

    static func loginAttempt(
        from request: RADIUSPacket, client: RADIUSClient, clientAddress: String, delimiter: Character
    ) throws(Refusal) -> LoginAttempt {
        // With two of them, which one the client means is a guess (and another component may guess differently):
        // refused like any other malformed request rather than decided on the first.
        guard request.count(of: .userName) <= 1, request.count(of: .userPassword) <= 1, request.count(of: .state) <= 1 else {
            throw .repeatedAttribute
        }
        guard let userName = request.attribute(.userName), !userName.value.isEmpty else { throw .missingUserName }
        guard let hidden = request.attribute(.userPassword) else { throw .unsupportedAuthentication }
        let password: [UInt8]
        do {
            password = try RADIUSUserPassword.reveal(hidden.value, secret: client.secret, requestAuthenticator: request.authenticator)
        } catch {
            throw .malformedPassword
        }
        let delivery: FactorDelivery =
            switch client.mode {
            case .auto: .appended(delimiter: delimiter)
            case .challenge: .challenge
            case .secondFactorOnly: .secondFactorOnly
            }
        return LoginAttempt(
            username: String(decoding: userName.value, as: UTF8.self),
            secret: String(decoding: password, as: UTF8.self),
            delivery: delivery,
            resource: client.resource,
            clientAddress: clientAddress,
            challengeState: request.attribute(.state)?.value,
            sessionHint: request.attribute(.callingStationId).map { String(decoding: $0.value, as: UTF8.self) })
    }

    /// The reply's code and attributes (before Message-Authenticator, which the encoder puts first).
    /// RFC 2865 §5.33: every Proxy-State of the request is copied, in order. A dropped request has none: the step
    /// sends nothing for it, so it never comes here.
    /// `granted`: what an Accept carries for its grant (the reply rules); never on a Reject or a Challenge.
    static func reply(
        to request: RADIUSPacket, verdict: Verdict, granted: (Grant) -> [RADIUSAttribute] = { _ in [] }
    ) -> (RADIUSCode, [RADIUSAttribute]) {
        var attributes: [RADIUSAttribute] = []
        let code: RADIUSCode
        switch verdict {
        case .accept(let grant):
            code = .accessAccept
            attributes = granted(grant)
        case .reject(let reason):
            code = .accessReject
            attributes.append(RADIUSAttribute(type: .replyMessage, string: reason.userMessage))
        case .challenge(let prompt, let state):
            code = .accessChallenge
            // A prompt relayed from an upstream server may be longer than one attribute holds (RFC 2865 §5.18:
            // several Reply-Messages are shown as one text).
            attributes += Self.chunks(Array(prompt.utf8)).map { RADIUSAttribute(type: .replyMessage, value: $0) }
            attributes.append(RADIUSAttribute(type: .state, value: state))
        case .dropped:
            preconditionFailure("a dropped request gets no reply")
        }
        attributes.append(contentsOf: request.attributes(.proxyState))
        return (code, attributes)
    }

    static func reply(to request: RADIUSPacket, refusal: Refusal) -> (RADIUSCode, [RADIUSAttribute]) {
        let message =
            switch refusal {
            case .unsupportedAuthentication: "Only PAP is supported"
            case .missingUserName, .malformedPassword, .repeatedAttribute: "Malformed request"
            case .clientRateLimited: "Too many failed attempts, try again later"
            }
        return (.accessReject, [RADIUSAttribute(type: .replyMessage, string: message)] + request.attributes(.proxyState))
    }

    /// `bytes` in pieces that fit an attribute (253 octets), at least one.
    static func chunks(_ bytes: [UInt8]) -> [[UInt8]] {
        stride(from: 0, to: max(bytes.count, 1), by: 253).map { Array(bytes[$0..<min($0 + 253, bytes.count)]) }
    }
}
