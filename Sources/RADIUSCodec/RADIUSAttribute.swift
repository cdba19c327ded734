/// One RADIUS attribute: a Type octet and up to 253 octets of value (RFC 2865 §5).
public struct RADIUSAttribute: Hashable, Sendable {
    /// The most value octets an attribute can carry: its Length octet counts Type and Length too.
    public static let maximumValueLength = 253

    public var type: RADIUSAttributeType
    public var value: [UInt8]

    public init(type: RADIUSAttributeType, value: [UInt8]) {
        precondition(value.count <= Self.maximumValueLength, "RADIUS attribute value longer than 253 octets")
        self.type = type
        self.value = value
    }

    /// A text attribute, UTF-8 encoded (RFC 2865 §5: "text" is UTF-8).
    public init(type: RADIUSAttributeType, string: String) {
        self.init(type: type, value: Array(string.utf8))
    }

    /// An "integer" attribute: 4 octets, big-endian (RFC 2865 §5).
    public init(type: RADIUSAttributeType, integer: UInt32) {
        self.init(type: type, value: [
            UInt8(truncatingIfNeeded: integer >> 24), UInt8(truncatingIfNeeded: integer >> 16),
            UInt8(truncatingIfNeeded: integer >> 8), UInt8(truncatingIfNeeded: integer),
        ])
    }

    /// The value as UTF-8 text, or nil when it is not valid UTF-8.
    public var stringValue: String? {
        String(validating: value, as: UTF8.self)
    }

    /// The value as a 4-octet big-endian integer, or nil when it is not exactly 4 octets.
    public var integerValue: UInt32? {
        guard value.count == 4 else { return nil }
        return UInt32(value[0]) << 24 | UInt32(value[1]) << 16 | UInt32(value[2]) << 8 | UInt32(value[3])
    }
}
