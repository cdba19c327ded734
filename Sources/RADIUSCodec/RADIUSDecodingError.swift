/// Bytes from a peer that are not a valid RADIUS packet, attribute or hidden password.
///
/// Two errors are equal when their codes are equal; the message (and offset) are for logs.
public struct RADIUSDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier for the kind of failure, safe to match on and to count in metrics.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        private init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        /// Fewer than the 20 octets of the fixed header (RFC 2865 §3).
        public static let truncatedHeader = Code("truncatedHeader")
        /// The Length field is outside 20...4096 (RFC 2865 §3).
        public static let lengthOutOfRange = Code("lengthOutOfRange")
        /// The datagram is shorter than its Length field (RFC 2865 §3: silently discard).
        public static let truncatedPacket = Code("truncatedPacket")
        /// An attribute's Length octet is below 2 (RFC 2865 §5).
        public static let attributeTooShort = Code("attributeTooShort")
        /// An attribute runs past the end of the packet (RFC 2865 §5).
        public static let attributeOverrun = Code("attributeOverrun")
        /// A Vendor-Specific attribute that is not laid out as RFC 2865 §5.26 recommends.
        public static let invalidVendorSpecific = Code("invalidVendorSpecific")
        /// A hidden User-Password whose length is not a multiple of 16 in 16...128 (RFC 2865 §5.2).
        public static let invalidUserPassword = Code("invalidUserPassword")

        public var description: String { rawValue }
    }

    public let code: Code
    /// A human-readable explanation, for logs.
    public let message: String
    /// Octet offset in the input where the problem was found, when known.
    public let offset: Int?

    public init(code: Code, message: String, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    public static func == (lhs: RADIUSDecodingError, rhs: RADIUSDecodingError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }

    public var description: String {
        if let offset {
            return "RADIUSDecodingError.\(code) at offset \(offset): \(message)"
        }
        return "RADIUSDecodingError.\(code): \(message)"
    }
}
