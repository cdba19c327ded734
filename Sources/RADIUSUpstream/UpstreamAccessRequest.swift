import RADIUSCodec

/// What Countersign asks an upstream RADIUS server: an Access-Request of its own (RFC 2865 §4.1) for one user, and,
/// when it answers an Access-Challenge, the State that came with it (§5.24).
public struct UpstreamAccessRequest: Sendable, Equatable {
    public var username: String
    /// The password, or the response to a challenge; hidden per server, with that server's secret (§5.2).
    public var password: [UInt8]
    public var state: [UInt8]?

    /// `countersign`, as NAS-Identifier: RFC 2865 §4.1 asks for it or NAS-IP-Address in every Access-Request.
    public static let nasIdentifier = "countersign"

    public init(username: String, password: [UInt8], state: [UInt8]? = nil) {
        self.username = username
        self.password = password
        self.state = state
    }

    /// What a RADIUS attribute can carry: User-Name up to 253 octets, the password up to 128 (§5.1, §5.2).
    public var fitsInAttributes: Bool {
        !username.isEmpty && username.utf8.count <= RADIUSAttribute.maximumValueLength
            && password.count <= RADIUSUserPassword.maximumPasswordLength
            && (state?.count ?? 0) <= RADIUSAttribute.maximumValueLength
    }

    /// The datagram, Message-Authenticator first (RFC 3579 §3.2; BlastRADIUS). `authenticator` is 16 random octets.
    func encoded(identifier: UInt8, authenticator: [UInt8], secret: [UInt8]) -> [UInt8] {
        var attributes = [
            RADIUSAttribute(type: .userName, string: username),
            RADIUSAttribute(
                type: .userPassword,
                value: RADIUSUserPassword.hide(password, secret: secret, requestAuthenticator: authenticator)),
            RADIUSAttribute(type: .nasIdentifier, string: Self.nasIdentifier),
        ]
        if let state { attributes.append(RADIUSAttribute(type: .state, value: state)) }
        return RADIUSPacket.encodeRequest(
            code: .accessRequest, identifier: identifier, authenticator: authenticator, attributes: attributes, secret: secret)
    }
}

/// Whether a datagram is the server's answer to one request: anything else is discarded, as a NAS discards it
/// (RFC 2865 §3, §4: a reply that fails the Response Authenticator is silently dropped).
struct UpstreamReplyCheck: Sendable {
    var identifier: UInt8
    var requestAuthenticator: [UInt8]
    var secret: [UInt8]
    var requireMessageAuthenticator: Bool

    /// The reply, or nil when the datagram is not a well-formed Accept, Reject or Challenge to this request with
    /// a right Response Authenticator and a right Message-Authenticator (one that is there is always checked).
    func reply(_ datagram: [UInt8]) -> RADIUSPacket? {
        guard let packet = try? RADIUSPacket(decoding: datagram), packet.identifier == identifier,
            [RADIUSCode.accessAccept, .accessReject, .accessChallenge].contains(packet.code),
            RADIUSAuthenticators.verifyResponseAuthenticator(
                raw: datagram, requestAuthenticator: requestAuthenticator, secret: secret)
        else { return nil }
        switch RADIUSAuthenticators.checkReplyMessageAuthenticator(
            raw: datagram, requestAuthenticator: requestAuthenticator, secret: secret)
        {
        case .valid: return packet
        case .absent: return requireMessageAuthenticator ? nil : packet
        case .invalid: return nil
        }
    }
}
