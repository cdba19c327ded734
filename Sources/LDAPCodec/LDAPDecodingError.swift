/// Bytes from a peer that are not a valid LDAPMessage (RFC 4511 §4, §5.1) or not a frame the splitter accepts.
///
/// Two errors are equal when their codes are equal; the message and messageID are for logs and replies.
/// RFC 4511 §4.1.1: a server that cannot decode a message answers with a Notice of Disconnection
/// (protocolError) and closes the connection; ``unsupportedAuthentication`` is the exception, answered with a
/// BindResponse authMethodNotSupported using ``messageID``.
public struct LDAPDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable identifier for the kind of failure, safe to match on and to count in metrics.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        private init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        /// Not exactly one complete, well-formed BER element: truncated, trailing bytes, a bad length,
        /// a malformed INTEGER, or nested deeper than swift-asn1's limit (50).
        public static let malformedBER = Code("malformedBER")
        /// An element has a tag (or primitive/constructed form) other than RFC 4511 Appendix B allows there,
        /// or a required element is missing or an unexpected one follows.
        public static let unexpectedTag = Code("unexpectedTag")
        /// A value outside its ASN.1 constraint: messageID not in 0...maxInt, version not in 1...127,
        /// a NULL with content.
        public static let invalidValue = Code("invalidValue")
        /// An LDAPString or LDAPDN that is not UTF-8 (RFC 4511 §4.1.2).
        public static let invalidUTF8 = Code("invalidUTF8")
        /// An indefinite length (0x80); RFC 4511 §5.1 allows only the definite form.
        public static let indefiniteLength = Code("indefiniteLength")
        /// A length of more than 4 octets in the frame header.
        public static let lengthFieldTooLong = Code("lengthFieldTooLong")
        /// A frame whose announced size is above the splitter's maximum.
        public static let messageTooLarge = Code("messageTooLarge")
        /// A BindRequest whose AuthenticationChoice is neither simple [0] nor sasl [3] (RFC 4511 §4.2:
        /// the CHOICE is extensible). The server answers authMethodNotSupported rather than disconnecting.
        public static let unsupportedAuthentication = Code("unsupportedAuthentication")

        public var description: String { rawValue }
    }

    public let code: Code
    /// A human-readable explanation, for logs.
    public let message: String
    /// The messageID of the message being decoded, when it had been read before the failure.
    public let messageID: Int32?

    public init(code: Code, message: String, messageID: Int32? = nil) {
        self.code = code
        self.message = message
        self.messageID = messageID
    }

    func with(messageID: Int32) -> LDAPDecodingError {
        LDAPDecodingError(code: code, message: message, messageID: self.messageID ?? messageID)
    }

    public static func == (lhs: LDAPDecodingError, rhs: LDAPDecodingError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }

    public var description: String {
        if let messageID {
            return "LDAPDecodingError.\(code) (messageID \(messageID)): \(message)"
        }
        return "LDAPDecodingError.\(code): \(message)"
    }
}
