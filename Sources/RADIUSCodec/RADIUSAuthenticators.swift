import Crypto
import KeyedHash
import Synchronization

/// RFC 3579 §3.2 Message-Authenticator and RFC 2865 §3 / RFC 2866 §3 authenticators, all over the raw bytes.
///
/// The checks work on the received octets rather than a decoded packet, because re-encoding could
/// differ from what the peer signed. Malformed framing makes every check fail.
public enum RADIUSAuthenticators {
    public enum MessageAuthenticatorCheck: Sendable, Equatable {
        /// No Message-Authenticator in the packet.
        case absent
        /// Exactly one, 16 octets, and it matches.
        case valid
        /// It does not match, is not 16 octets, appears more than once, or the packet is malformed.
        case invalid
    }

    static let zeroAuthenticator = [UInt8](repeating: 0, count: 16)

    /// For a received request (Access-Request, Status-Server, …): HMAC-MD5(secret, packet with the attribute's value zeroed).
    /// More than one Message-Authenticator, or one whose value is not 16 octets → .invalid.
    /// `raw` is the received bytes (only the first Length octets count). Constant-time comparison.
    public static func checkMessageAuthenticator(raw: some Collection<UInt8>, secret: [UInt8]) -> MessageAuthenticatorCheck {
        withContiguousOctets(raw) { bytes in
            checkMessageAuthenticator(bytes, authenticatorOverride: nil, secret: secret)
        }
    }

    /// Same, for a received reply: the HMAC is computed with the Request Authenticator in place of the
    /// Response Authenticator (RFC 3579 §3.2).
    public static func checkReplyMessageAuthenticator(
        raw: some Collection<UInt8>,
        requestAuthenticator: [UInt8],
        secret: [UInt8]
    ) -> MessageAuthenticatorCheck {
        precondition(requestAuthenticator.count == 16, "Request Authenticator must be 16 octets")
        return withContiguousOctets(raw) { bytes in
            checkMessageAuthenticator(bytes, authenticatorOverride: requestAuthenticator, secret: secret)
        }
    }

    /// Same, for a received Accounting-Request, CoA-Request or Disconnect-Request: the HMAC is computed
    /// with 16 zero octets in place of the Request Authenticator (RFC 5176 §3; as FreeRADIUS computes it).
    public static func checkAccountingRequestMessageAuthenticator(raw: some Collection<UInt8>, secret: [UInt8]) -> MessageAuthenticatorCheck {
        withContiguousOctets(raw) { bytes in
            checkMessageAuthenticator(bytes, authenticatorOverride: zeroAuthenticator, secret: secret)
        }
    }

    /// True when the reply's Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
    /// (RFC 2865 §3). Constant time.
    public static func verifyResponseAuthenticator(
        raw: some Collection<UInt8>,
        requestAuthenticator: [UInt8],
        secret: [UInt8]
    ) -> Bool {
        precondition(requestAuthenticator.count == 16, "Request Authenticator must be 16 octets")
        return withContiguousOctets(raw) { bytes in
            verifyAuthenticator(bytes, substitute: requestAuthenticator, secret: secret)
        }
    }

    /// RFC 2866 §3 / RFC 5176 §2.3: Request Authenticator of Accounting-Request / CoA / Disconnect
    /// = MD5(Code+ID+Length+16 zero octets+Attributes+Secret).
    public static func verifyAccountingRequestAuthenticator(raw: some Collection<UInt8>, secret: [UInt8]) -> Bool {
        withContiguousOctets(raw) { bytes in
            verifyAuthenticator(bytes, substitute: zeroAuthenticator, secret: secret)
        }
    }

    /// Equal length and contents, in time that depends only on the length.
    public static func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }

    // MARK: - Internals

    private static func checkMessageAuthenticator(
        _ bytes: UnsafeBufferPointer<UInt8>,
        authenticatorOverride: [UInt8]?,
        secret: [UInt8]
    ) -> MessageAuthenticatorCheck {
        guard let length = try? RADIUSFrame.validatedLength(bytes) else { return .invalid }
        var found: Range<Int>? = nil
        var count = 0
        do {
            try RADIUSFrame.forEachAttribute(bytes, length: length) { type, range in
                if type == RADIUSAttributeType.messageAuthenticator.rawValue {
                    count += 1
                    found = range
                }
            }
        } catch {
            return .invalid
        }
        guard let range = found else { return .absent }
        // RFC 3579 §3.2: the value is 16 octets; more than one instance is not allowed.
        guard count == 1, range.count == 16 else { return .invalid }

        let hmac = messageAuthenticator(
            bytes[0..<length],
            authenticatorOverride: authenticatorOverride,
            valueRange: range,
            secret: secret
        )
        return hmac.withMAC { constantTimeEquals($0, bytes[range]) } ? .valid : .invalid
    }

    /// HMAC-MD5 fed `bytes` with the value at `valueRange` read as zeros and, when given, the authenticator field
    /// read as `authenticatorOverride`, in parts so nothing is copied; the caller reads the MAC where it lies
    /// (`withMAC`).
    static func messageAuthenticator(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>,
        authenticatorOverride: [UInt8]?,
        valueRange: Range<Int>,
        secret: [UInt8]
    ) -> KeyedHash<Insecure.MD5> {
        var hmac = KeyedHMACs.shared.keyed(with: secret)
        let base = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes))
        let start = bytes.startIndex
        if let authenticatorOverride {
            hmac.update(UnsafeRawBufferPointer(rebasing: base[0..<(RADIUSFrame.authenticatorRange.lowerBound)]))
            hmac.update(authenticatorOverride)
            hmac.update(UnsafeRawBufferPointer(rebasing: base[RADIUSFrame.authenticatorRange.upperBound..<(valueRange.lowerBound - start)]))
        } else {
            hmac.update(UnsafeRawBufferPointer(rebasing: base[0..<(valueRange.lowerBound - start)]))
        }
        hmac.update(zeroAuthenticator)
        hmac.update(UnsafeRawBufferPointer(rebasing: base[(valueRange.upperBound - start)...]))
        return hmac
    }

    /// MD5(Code+ID+Length+substitute+Attributes+Secret) against the packet's authenticator field.
    private static func verifyAuthenticator(
        _ bytes: UnsafeBufferPointer<UInt8>,
        substitute: [UInt8],
        secret: [UInt8]
    ) -> Bool {
        guard let length = try? RADIUSFrame.validatedLength(bytes) else { return false }
        let digest = authenticator(
            UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<length])),
            substitute: substitute,
            secret: secret
        )
        return digest.withUnsafeBytes { constantTimeEquals($0, bytes[RADIUSFrame.authenticatorRange]) }
    }

    /// MD5 over the packet with its authenticator field read as `substitute`, then the secret. Fed through the
    /// hash's non-generic `update(bufferPointer:)` (its `update(data:)` walks a `DataProtocol` generically).
    static func authenticator(_ packet: UnsafeRawBufferPointer, substitute: [UInt8], secret: [UInt8]) -> Insecure.MD5Digest {
        var md5 = Insecure.MD5()
        md5.update(bufferPointer: UnsafeRawBufferPointer(rebasing: packet[0..<RADIUSFrame.authenticatorRange.lowerBound]))
        substitute.withUnsafeBytes { md5.update(bufferPointer: $0) }
        md5.update(bufferPointer: UnsafeRawBufferPointer(rebasing: packet[RADIUSFrame.authenticatorRange.upperBound...]))
        secret.withUnsafeBytes { md5.update(bufferPointer: $0) }
        return md5.finalize()
    }
}

/// HMAC-MD5 keyed once per shared secret: each copy starts from the keyed state, so a packet pays for its own octets
/// only, not for padding and hashing the key again (two MD5 blocks and an allocation, twice per login). A NAS
/// deployment has a handful of secrets; past `capacity` the table starts again.
final class KeyedHMACs: Sendable {
    static let shared = KeyedHMACs()
    static let capacity = 256

    private let keyed = Mutex<[[UInt8]: KeyedHash<Insecure.MD5>]>([:])

    func keyed(with secret: [UInt8]) -> KeyedHash<Insecure.MD5> {
        if let hmac = keyed.withLock({ $0[secret] }) { return hmac }
        let hmac = KeyedHash<Insecure.MD5>(key: secret)
        keyed.withLock { table in
            if table.count >= Self.capacity { table.removeAll() }
            table[secret] = hmac
        }
        return hmac
    }
}
