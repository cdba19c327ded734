/// Framing rules shared by the decoder and the authenticator checks, over contiguous bytes so the
/// hot path walks the datagram once without copying it.
enum RADIUSFrame {
    static let headerLength = 20
    static let authenticatorRange = 4..<20

    /// Checks the fixed header and returns the Length field (RFC 2865 §3).
    static func validatedLength(_ bytes: UnsafeBufferPointer<UInt8>) throws(RADIUSDecodingError) -> Int {
        guard bytes.count >= headerLength else {
            throw RADIUSDecodingError(
                code: .truncatedHeader,
                message: "datagram of \(bytes.count) octets is shorter than the 20-octet header",
                offset: bytes.count
            )
        }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length >= RADIUSPacket.minimumLength, length <= RADIUSPacket.maximumLength else {
            throw RADIUSDecodingError(
                code: .lengthOutOfRange,
                message: "Length field \(length) is outside 20...4096",
                offset: 2
            )
        }
        // RFC 2865 §3: fewer octets than Length → discard; more → the rest is padding.
        guard bytes.count >= length else {
            throw RADIUSDecodingError(
                code: .truncatedPacket,
                message: "datagram of \(bytes.count) octets is shorter than its Length field \(length)",
                offset: bytes.count
            )
        }
        return length
    }

    /// Calls `body` with the type and value range of each attribute in `bytes[20..<length]`, which
    /// they must fill exactly (RFC 2865 §5).
    static func forEachAttribute(
        _ bytes: UnsafeBufferPointer<UInt8>,
        length: Int,
        _ body: (_ type: UInt8, _ value: Range<Int>) -> Void
    ) throws(RADIUSDecodingError) {
        var offset = headerLength
        while offset < length {
            guard length - offset >= 2 else {
                throw RADIUSDecodingError(
                    code: .attributeOverrun,
                    message: "attribute header runs past Length \(length)",
                    offset: offset
                )
            }
            let attributeLength = Int(bytes[offset + 1])
            guard attributeLength >= 2 else {
                throw RADIUSDecodingError(
                    code: .attributeTooShort,
                    message: "attribute \(bytes[offset]) has length \(attributeLength), below 2",
                    offset: offset + 1
                )
            }
            guard attributeLength <= length - offset else {
                throw RADIUSDecodingError(
                    code: .attributeOverrun,
                    message: "attribute \(bytes[offset]) of length \(attributeLength) runs past Length \(length)",
                    offset: offset
                )
            }
            body(bytes[offset], (offset + 2)..<(offset + attributeLength))
            offset += attributeLength
        }
    }
}

/// Runs `body` over the collection's storage, copying only when it is not contiguous.
@inline(__always)
func withContiguousOctets<R>(_ octets: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = octets.withContiguousStorageIfAvailable(body) {
        return result
    }
    return Array(octets).withUnsafeBufferPointer(body)
}
