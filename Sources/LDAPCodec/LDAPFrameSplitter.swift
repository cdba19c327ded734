/// Cuts whole LDAPMessages out of a TCP byte stream (RFC 4511 §5.1: each message is one BER SEQUENCE with a
/// definite length).
///
/// The header is read octet by octet and checked before any body octet is buffered, so an oversized length
/// (e.g. `30 84 80 00 00 00`, 2^31) is refused at once and never allocated. Nothing is reserved up front for
/// the announced body either: the buffer grows only with bytes actually received. After an error the splitter
/// stays failed (the connection must be closed); later appends rethrow the same error.
public struct LDAPFrameSplitter: Sendable {
    /// The largest complete message accepted, identifier and length octets included.
    public let maximumMessageSize: Int

    /// The partial message: its header octets, then as much of its body as has arrived.
    private var buffer: [UInt8] = []
    /// The complete message's size, once its header has been read.
    private var frameSize: Int?
    private var failure: LDAPDecodingError?

    public init(maximumMessageSize: Int = 1 << 20) {
        precondition(maximumMessageSize >= 2, "a message is at least 2 octets")
        self.maximumMessageSize = maximumMessageSize
    }

    /// The octets held for a message not yet complete.
    public var bufferedByteCount: Int { buffer.count }

    /// Append received bytes; returns every complete message's bytes (each exactly one TLV), keeps the rest.
    ///
    /// Throws on an outer tag that is not SEQUENCE (0x30), an indefinite length (0x80; RFC 4511 §5.1), a length
    /// of more than 4 octets, or a message above ``maximumMessageSize``. Non-minimal lengths are accepted (BER).
    /// Messages completed earlier in the same call are dropped with the error: the session is ending
    /// (RFC 4511 §4.1.1: Notice of Disconnection, protocolError) and none of its requests should be acted on.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(LDAPDecodingError) -> [[UInt8]] {
        if let failure {
            throw failure
        }
        var messages: [[UInt8]] = []
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if let frameSize {
                // Body: take only what this message still needs.
                let end = bytes.index(index, offsetBy: frameSize - buffer.count, limitedBy: bytes.endIndex) ?? bytes.endIndex
                buffer.append(contentsOf: bytes[index..<end])
                index = end
            } else {
                // Header: one octet at a time, so nothing past it is buffered before it has been checked.
                buffer.append(bytes[index])
                bytes.formIndex(after: &index)
                do {
                    frameSize = try Self.frameSize(header: buffer, maximum: maximumMessageSize)
                } catch {
                    failure = error
                    buffer = []
                    throw error
                }
            }
            if let size = frameSize, buffer.count == size {
                messages.append(buffer)
                buffer = []
                frameSize = nil
            }
        }
        return messages
    }

    /// The whole message's size from its identifier and length octets, or nil while they are incomplete.
    static func frameSize(header: [UInt8], maximum: Int) throws(LDAPDecodingError) -> Int? {
        guard header[0] == 0x30 else {
            throw LDAPDecodingError(
                code: .unexpectedTag,
                message: "an LDAPMessage starts with SEQUENCE (0x30), not 0x\(String(header[0], radix: 16))"
            )
        }
        guard header.count >= 2 else { return nil }
        let first = header[1]
        let headerSize: Int
        let bodySize: UInt64
        if first < 0x80 {
            headerSize = 2
            bodySize = UInt64(first)
        } else if first == 0x80 {
            throw LDAPDecodingError(code: .indefiniteLength, message: "indefinite length (RFC 4511 §5.1: definite form only)")
        } else {
            let lengthOctets = Int(first & 0x7F)
            guard lengthOctets <= 4 else {
                throw LDAPDecodingError(code: .lengthFieldTooLong, message: "\(lengthOctets) length octets (at most 4)")
            }
            headerSize = 2 + lengthOctets
            guard header.count >= headerSize else { return nil }
            bodySize = header[2..<headerSize].reduce(0) { $0 << 8 | UInt64($1) }
        }
        // bodySize < 2^32 and headerSize <= 6: no overflow on 64-bit or 32-bit hosts in UInt64.
        let total = UInt64(headerSize) + bodySize
        guard total <= UInt64(maximum) else {
            throw LDAPDecodingError(
                code: .messageTooLarge,
                message: "a \(total)-octet message is above the \(maximum)-octet maximum"
            )
        }
        return Int(total)
    }
}
