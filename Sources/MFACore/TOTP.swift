import Crypto
import DeviceProtocol
import Foundation

public enum TOTPAlgorithm: String, Sendable, Equatable, CaseIterable, Codable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"
}

/// The parameters stored with each TOTP enrollment (RFC 6238 §4; the otpauth:// defaults).
public struct TOTPParameters: Sendable, Equatable, Codable {
    public var algorithm: TOTPAlgorithm
    public var digits: Int
    public var period: Int

    public init(algorithm: TOTPAlgorithm = .sha1, digits: Int = 6, period: Int = 30) {
        precondition([6, 7, 8].contains(digits) && period > 0)
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    public static let standard = TOTPParameters()

    /// The time step a moment falls in (RFC 6238 §4.2, T0 = 0).
    public func step(at time: Date) -> Int64 {
        Int64((time.timeIntervalSince1970 / Double(period)).rounded(.down))
    }
}

/// RFC 4226 HOTP / RFC 6238 TOTP code generation.
public enum OneTimeCode {
    /// RFC 4226 §5.3: HMAC over the big-endian counter, dynamic truncation, modulo 10^digits.
    public static func hotp(secret: [UInt8], counter: UInt64, digits: Int, algorithm: TOTPAlgorithm = .sha1) -> String {
        let key = SymmetricKey(data: secret)
        let message = withUnsafeBytes(of: counter.bigEndian) { Array($0) }
        let mac: [UInt8]
        switch algorithm {
        case .sha1: mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
        case .sha256: mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: mac = Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let number = String(binary % modulus)
        return String(repeating: "0", count: digits - number.count) + number
    }

    public static func totp(secret: [UInt8], at time: Date, parameters: TOTPParameters = .standard) -> String {
        hotp(secret: secret, counter: UInt64(parameters.step(at: time)), digits: parameters.digits, algorithm: parameters.algorithm)
    }
}

/// Checks a submitted code against the steps around now. Every step in the window is computed and compared in
/// constant time, so the time taken does not tell which step (if any) matched.
public struct TOTPVerifier: Sendable {
    /// Steps of drift accepted each way (design: at most one).
    public var driftSteps: Int

    public init(driftSteps: Int = 1) {
        precondition((0...1).contains(driftSteps))
        self.driftSteps = driftSteps
    }

    /// The step the code belongs to, or nil. Replay refusal (step ≤ last accepted) is the caller's, done atomically in the store.
    public func matchingStep(code: String, secret: [UInt8], parameters: TOTPParameters, at time: Date) -> Int64? {
        let submitted = Array(code.utf8)
        guard submitted.count == parameters.digits else { return nil }
        let now = parameters.step(at: time)
        var match: Int64?
        for step in (now - Int64(driftSteps))...(now + Int64(driftSteps)) where step >= 0 {
            let expected = Array(OneTimeCode.hotp(secret: secret, counter: UInt64(step), digits: parameters.digits, algorithm: parameters.algorithm).utf8)
            if ConstantTime.equals(expected, submitted) && match == nil { match = step }
        }
        return match
    }
}

/// A new TOTP enrollment: the secret and the URI an authenticator app scans.
public struct TOTPEnrollment: Sendable {
    public static let secretByteCount = 20  // 160 bits, RFC 4226 §4 R6

    public var secret: [UInt8]
    public var parameters: TOTPParameters

    public init(secret: [UInt8], parameters: TOTPParameters = .standard) {
        self.secret = secret
        self.parameters = parameters
    }

    /// A fresh secret from the system CSPRNG.
    public static func generate(parameters: TOTPParameters = .standard) -> TOTPEnrollment {
        TOTPEnrollment(secret: SecureRandom.bytes(secretByteCount), parameters: parameters)
    }

    public var base32Secret: String { Base32.encode(secret) }

    /// The otpauth:// key URI (the de facto format authenticator apps read).
    public func uri(issuer: String, account: String) -> String {
        let label = "\(percentEncoded(issuer)):\(percentEncoded(account))"
        return "otpauth://totp/\(label)?secret=\(base32Secret)&issuer=\(percentEncoded(issuer))"
            + "&algorithm=\(parameters.algorithm.rawValue)&digits=\(parameters.digits)&period=\(parameters.period)"
    }

    private func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
