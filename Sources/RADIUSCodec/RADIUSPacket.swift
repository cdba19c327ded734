/// A RADIUS packet (RFC 2865 §3): Code, Identifier, 16-octet Authenticator and attributes in order.
///
/// Decoding checks framing only; authenticators are checked on the raw bytes with `RADIUSAuthenticators`.
public struct RADIUSPacket: Hashable, Sendable {
    public var code: RADIUSCode
    public var identifier: UInt8
    /// The Request or Response Authenticator, 16 octets.
    public var authenticator: [UInt8]
    public var attributes: [RADIUSAttribute]

    /// RFC 2865 §3 bounds on the Length field.
    public static let minimumLength = 20
    public static let maximumLength = 4096

    public init(code: RADIUSCode, identifier: UInt8, authenticator: [UInt8], attributes: [RADIUSAttribute]) {
        precondition(authenticator.count == 16, "RADIUS authenticator must be 16 octets")
        self.code = code
        self.identifier = identifier
        self.authenticator = authenticator
        self.attributes = attributes
    }

    /// RFC 2865 §3: Length 20...4096; a datagram shorter than Length is an error; octets beyond Length are padding
    /// and ignored; attributes must exactly fill Length; an attribute with length < 2 or running past the end is an error.
    public init(decoding datagram: some Collection<UInt8>) throws(RADIUSDecodingError) {
        let result = withContiguousOctets(datagram) { bytes in
            Result { () throws(RADIUSDecodingError) -> RADIUSPacket in
                try RADIUSPacket(contiguous: bytes)
            }
        }
        self = try result.get()
    }

    private init(contiguous bytes: UnsafeBufferPointer<UInt8>) throws(RADIUSDecodingError) {
        let length = try RADIUSFrame.validatedLength(bytes)
        var attributes: [RADIUSAttribute] = []
        // An Access-Request has a handful: one allocation instead of one per doubling.
        attributes.reserveCapacity(8)
        try RADIUSFrame.forEachAttribute(bytes, length: length) { type, range in
            attributes.append(RADIUSAttribute(type: RADIUSAttributeType(rawValue: type), value: Array(bytes[range])))
        }
        self.code = RADIUSCode(rawValue: bytes[0])
        self.identifier = bytes[1]
        self.authenticator = Array(bytes[RADIUSFrame.authenticatorRange])
        self.attributes = attributes
    }

    /// The wire form. The packet must fit in 4096 octets and every value in 253.
    public func encoded() -> [UInt8] {
        Self.encode(code: code, identifier: identifier, authenticator: authenticator, attributes: attributes)
    }

    /// The first attribute of `type`, if any.
    public func attribute(_ type: RADIUSAttributeType) -> RADIUSAttribute? {
        attributes.first { $0.type == type }
    }

    /// How many attributes of `type` there are.
    public func count(of type: RADIUSAttributeType) -> Int {
        attributes.reduce(0) { $0 + ($1.type == type ? 1 : 0) }
    }

    /// All attributes of `type`, in packet order.
    public func attributes(_ type: RADIUSAttributeType) -> [RADIUSAttribute] {
        attributes.filter { $0.type == type }
    }

    /// Encodes header and attributes; with `messageAuthenticatorPlaceholder` a zeroed
    /// Message-Authenticator goes first, its value at `messageAuthenticatorValueRange`.
    static func encode(
        code: RADIUSCode,
        identifier: UInt8,
        authenticator: [UInt8],
        attributes: [RADIUSAttribute],
        messageAuthenticatorPlaceholder: Bool = false
    ) -> [UInt8] {
        precondition(authenticator.count == 16, "RADIUS authenticator must be 16 octets")
        var length = RADIUSFrame.headerLength + (messageAuthenticatorPlaceholder ? 18 : 0)
        for attribute in attributes {
            precondition(attribute.value.count <= RADIUSAttribute.maximumValueLength, "RADIUS attribute value longer than 253 octets")
            length += 2 + attribute.value.count
        }
        precondition(length <= maximumLength, "RADIUS packet of \(length) octets exceeds 4096")
        var out: [UInt8] = []
        out.reserveCapacity(length)
        out.append(code.rawValue)
        out.append(identifier)
        out.append(UInt8(truncatingIfNeeded: length >> 8))
        out.append(UInt8(truncatingIfNeeded: length))
        out.append(contentsOf: authenticator)
        if messageAuthenticatorPlaceholder {
            out.append(RADIUSAttributeType.messageAuthenticator.rawValue)
            out.append(18)
            out.append(contentsOf: RADIUSAuthenticators.zeroAuthenticator)
        }
        for attribute in attributes {
            out.append(attribute.type.rawValue)
            out.append(UInt8(truncatingIfNeeded: attribute.value.count + 2))
            out.append(contentsOf: attribute.value)
        }
        return out
    }

    /// Where `encode(..., messageAuthenticatorPlaceholder: true)` puts the Message-Authenticator value.
    static let messageAuthenticatorValueRange = 22..<38
}
