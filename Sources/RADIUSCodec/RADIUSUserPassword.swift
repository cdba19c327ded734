import Crypto

/// RFC 2865 §5.2 User-Password hiding, 0...128 octets of password; the hidden value is a multiple of 16,
/// 16...128 octets: c(1) = p(1) xor MD5(S + RA), c(i) = p(i) xor MD5(S + c(i-1)).
public enum RADIUSUserPassword {
    /// The most password octets that can be hidden (RFC 2865 §5.2).
    public static let maximumPasswordLength = 128

    /// Hides `password` (0...128 octets; an empty one hides to 16 octets of padding).
    public static func hide(_ password: [UInt8], secret: [UInt8], requestAuthenticator: [UInt8]) -> [UInt8] {
        precondition(password.count <= maximumPasswordLength, "User-Password longer than 128 octets")
        precondition(requestAuthenticator.count == 16, "Request Authenticator must be 16 octets")
        let paddedCount = max(16, (password.count + 15) / 16 * 16)
        var hidden = [UInt8](repeating: 0, count: paddedCount)
        for blockStart in stride(from: 0, to: paddedCount, by: 16) {
            var index = blockStart
            for keyOctet in blockKey(blockStart, hidden: hidden, secret: secret, requestAuthenticator: requestAuthenticator) {
                let plain: UInt8 = index < password.count ? password[index] : 0
                hidden[index] = plain ^ keyOctet
                index += 1
            }
        }
        return hidden
    }

    /// Recovers the password, without its trailing NUL padding.
    /// Throws `invalidUserPassword` when `hidden` is not a multiple of 16 in 16...128 octets.
    public static func reveal(
        _ hidden: [UInt8],
        secret: [UInt8],
        requestAuthenticator: [UInt8]
    ) throws(RADIUSDecodingError) -> [UInt8] {
        precondition(requestAuthenticator.count == 16, "Request Authenticator must be 16 octets")
        guard hidden.count >= 16, hidden.count <= maximumPasswordLength, hidden.count % 16 == 0 else {
            throw RADIUSDecodingError(
                code: .invalidUserPassword,
                message: "hidden User-Password of \(hidden.count) octets is not a multiple of 16 in 16...128"
            )
        }
        var password = [UInt8](repeating: 0, count: hidden.count)
        for blockStart in stride(from: 0, to: hidden.count, by: 16) {
            var index = blockStart
            for keyOctet in blockKey(blockStart, hidden: hidden, secret: secret, requestAuthenticator: requestAuthenticator) {
                password[index] = hidden[index] ^ keyOctet
                index += 1
            }
        }
        // RFC 2865 §5.2: the password is padded with NULs to a multiple of 16; they are not part of it.
        if let last = password.lastIndex(where: { $0 != 0 }) {
            password.removeSubrange((last + 1)...)
        } else {
            password.removeAll()
        }
        return password
    }

    /// b(1) = MD5(S + RA), b(i) = MD5(S + c(i-1)): the key for the block at `blockStart`, from the hidden octets
    /// before it (written already when hiding, given when revealing).
    private static func blockKey(
        _ blockStart: Int, hidden: [UInt8], secret: [UInt8], requestAuthenticator: [UInt8]
    ) -> Insecure.MD5Digest {
        var md5 = Insecure.MD5()
        md5.update(data: secret)
        if blockStart == 0 {
            md5.update(data: requestAuthenticator)
        } else {
            md5.update(data: hidden[(blockStart - 16)..<blockStart])
        }
        return md5.finalize()
    }
}
