import Crypto

extension RADIUSPacket {
    /// Encodes a reply to `requestAuthenticator`: when `messageAuthenticator` is true a Message-Authenticator is inserted
    /// as the FIRST attribute (BlastRADIUS mitigation) and computed per RFC 3579 §3.2 (HMAC over the packet carrying the
    /// Request Authenticator and a zeroed MA), then the Response Authenticator is computed over the final bytes (RFC 2865 §3).
    /// Any Message-Authenticator already in `attributes` is a precondition failure.
    public static func encodeReply(
        code: RADIUSCode,
        identifier: UInt8,
        attributes: [RADIUSAttribute],
        requestAuthenticator: [UInt8],
        secret: [UInt8],
        messageAuthenticator: Bool = true
    ) -> [UInt8] {
        precondition(
            !attributes.contains { $0.type == .messageAuthenticator },
            "encodeReply computes the Message-Authenticator; do not pass one"
        )
        // Signed like a request that carries the Request Authenticator (RFC 3579 §3.2), then the Response
        // Authenticator replaces it.
        var out = encodeRequest(
            code: code, identifier: identifier, authenticator: requestAuthenticator, attributes: attributes,
            secret: secret, messageAuthenticator: messageAuthenticator)
        // The field still holds the Request Authenticator, as the MD5 wants.
        let response = out.withUnsafeBytes {
            RADIUSAuthenticators.authenticator($0, substitute: requestAuthenticator, secret: secret)
        }
        response.withUnsafeBytes { out.replaceSubrange(RADIUSFrame.authenticatorRange, with: $0) }
        return out
    }

    /// Encodes a request (Access-Request or Status-Server) with the given 16-octet authenticator; with
    /// `messageAuthenticator` true, MA is the first attribute and computed (RFC 3579 §3.2, RFC 5997 §2).
    public static func encodeRequest(
        code: RADIUSCode,
        identifier: UInt8,
        authenticator: [UInt8],
        attributes: [RADIUSAttribute],
        secret: [UInt8],
        messageAuthenticator: Bool = true
    ) -> [UInt8] {
        precondition(
            !messageAuthenticator || !attributes.contains { $0.type == .messageAuthenticator },
            "encodeRequest computes the Message-Authenticator; do not pass one"
        )
        var out = encode(
            code: code,
            identifier: identifier,
            authenticator: authenticator,
            attributes: attributes,
            messageAuthenticatorPlaceholder: messageAuthenticator
        )
        if messageAuthenticator {
            signMessageAuthenticator(&out, secret: secret)
        }
        return out
    }

    /// Accounting-Request style (also CoA-Request, Disconnect-Request): the Request Authenticator is
    /// MD5 over the packet with 16 zero octets in its place, then the secret (RFC 2866 §3, RFC 5176 §2.3).
    public static func encodeAccountingRequest(
        code: RADIUSCode,
        identifier: UInt8,
        attributes: [RADIUSAttribute],
        secret: [UInt8]
    ) -> [UInt8] {
        var out = encode(
            code: code,
            identifier: identifier,
            authenticator: RADIUSAuthenticators.zeroAuthenticator,
            attributes: attributes
        )
        let authenticator = out.withUnsafeBytes {
            RADIUSAuthenticators.authenticator($0, substitute: RADIUSAuthenticators.zeroAuthenticator, secret: secret)
        }
        authenticator.withUnsafeBytes { out.replaceSubrange(RADIUSFrame.authenticatorRange, with: $0) }
        return out
    }

    /// Fills the zeroed Message-Authenticator placed first by `encode`: HMAC-MD5 over the packet as it stands.
    private static func signMessageAuthenticator(_ out: inout [UInt8], secret: [UInt8]) {
        var hmac = KeyedHMACs.shared.keyed(with: secret)
        out.withUnsafeBytes { hmac.update($0) }
        hmac.withMAC { out.replaceSubrange(messageAuthenticatorValueRange, with: $0) }
    }
}
