import Crypto
import DeviceProtocol
import Foundation
import KeyedHash

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
        var value: UInt64 = 0
        forEachValue(secret: secret, counters: counter...counter, digits: digits, algorithm: algorithm) { value = $1 }
        let number = String(value)
        return String(repeating: "0", count: digits - number.count) + number
    }

    public static func totp(secret: [UInt8], at time: Date, parameters: TOTPParameters = .standard) -> String {
        hotp(secret: secret, counter: UInt64(parameters.step(at: time)), digits: parameters.digits, algorithm: parameters.algorithm)
    }

    /// The code of each counter as a number, given to `body` with its counter, in order. The key is taken into the
    /// HMAC once (its padded blocks hashed once) and that state copied for each counter, which then costs two hash
    /// blocks: a login checks three steps. Nothing is collected into arrays (every login comes here).
    static func forEachValue(
        secret: [UInt8], counters: ClosedRange<UInt64>, digits: Int, algorithm: TOTPAlgorithm,
        _ body: (_ counter: UInt64, _ value: UInt64) -> Void
    ) {
        switch algorithm {
        case .sha1: forEachValue(KeyedHash<Insecure.SHA1>(key: secret), counters, digits, body)
        case .sha256: forEachValue(KeyedHash<SHA256>(key: secret), counters, digits, body)
        case .sha512: forEachValue(KeyedHash<SHA512>(key: secret), counters, digits, body)
        }
    }

    private static func forEachValue<H: HashFunction>(
        _ keyed: KeyedHash<H>, _ counters: ClosedRange<UInt64>, _ digits: Int, _ body: (UInt64, UInt64) -> Void
    ) {
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        for counter in counters {
            var hmac = keyed
            withUnsafeBytes(of: counter.bigEndian) { hmac.update($0) }
            let value = hmac.withMAC { mac in
                let offset = Int(mac[mac.count - 1] & 0x0F)
                let binary =
                    (UInt64(mac[offset] & 0x7F) << 24) | (UInt64(mac[offset + 1]) << 16)
                    | (UInt64(mac[offset + 2]) << 8) | UInt64(mac[offset + 3])
                return binary % modulus
            }
            body(counter, value)
        }
    }

    /// A submitted code as a number: exactly `digits` ASCII digits, or nil.
    static func value(of code: String, digits: Int) -> UInt64? {
        var value: UInt64 = 0
        var count = 0
        for byte in code.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), count < digits else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            count += 1
        }
        return count == digits ? value : nil
    }
}

/// Checks a submitted code against the steps around now. Every step in the window is computed and compared (as a
/// number, by XOR: no early exit), so the time taken does not tell which step (if any) matched.
public struct TOTPVerifier: Sendable {
    /// Steps of drift accepted each way (design: at most one).
    public var driftSteps: Int

    public init(driftSteps: Int = 1) {
        precondition((0...1).contains(driftSteps))
        self.driftSteps = driftSteps
    }

    /// The step the code belongs to, or nil. Replay refusal (step ≤ last accepted) is the caller's, done atomically in the store.
    public func matchingStep(code: String, secret: [UInt8], parameters: TOTPParameters, at time: Date) -> Int64? {
        guard let submitted = OneTimeCode.value(of: code, digits: parameters.digits) else { return nil }
        let now = parameters.step(at: time)
        guard now + Int64(driftSteps) >= 0 else { return nil }
        let steps = UInt64(max(0, now - Int64(driftSteps)))...UInt64(now + Int64(driftSteps))
        var match: Int64?
        OneTimeCode.forEachValue(
            secret: secret, counters: steps, digits: parameters.digits, algorithm: parameters.algorithm
        ) { step, value in
            if value ^ submitted == 0, match == nil { match = Int64(step) }
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
