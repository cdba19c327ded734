import Crypto
import DeviceProtocol
import Foundation
import _CryptoExtras

/// scrypt password hashes in PHC string form, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64), so that the
/// parameters travel with each hash and can be raised later without breaking old ones.
public struct PasswordHasher: Sendable {
    public struct Cost: Sendable, Equatable {
        /// log2 of scrypt's N.
        public var logN: Int
        public var blockSize: Int
        public var parallelism: Int

        public init(logN: Int, blockSize: Int = 8, parallelism: Int = 1) {
            self.logN = logN
            self.blockSize = blockSize
            self.parallelism = parallelism
        }

        /// N = 2^15, r = 8 (32 MiB, tens of milliseconds per hash).
        public static let standard = Cost(logN: 15)
        /// For tests only: fast, and weak.
        public static let testing = Cost(logN: 4)
    }

    public var cost: Cost
    private static let saltByteCount = 16
    private static let hashByteCount = 32

    public init(cost: Cost = .standard) {
        self.cost = cost
    }

    public func hash(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(Self.saltByteCount)
        let derived = try Self.derive(Array(password.utf8), salt: salt, cost: cost)
        return "$scrypt$ln=\(cost.logN),r=\(cost.blockSize),p=\(cost.parallelism)$"
            + Data(salt).base64EncodedString() + "$" + Data(derived).base64EncodedString()
    }

    /// Constant-time check of a password against a stored hash; false for a malformed hash.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let parsed = ParsedHash(encoded),
            let derived = try? Self.derive(Array(password.utf8), salt: parsed.salt, cost: parsed.cost)
        else { return false }
        return ConstantTime.equals(derived, parsed.hash)
    }

    /// Spends the same time as a real check, for unknown users, so that timing does not tell which users exist.
    public func verifyAgainstNothing(_ password: String) {
        _ = try? Self.derive(Array(password.utf8), salt: [UInt8](repeating: 0, count: Self.saltByteCount), cost: cost)
    }

    /// Checks against a stored hash, or spends the same time when there is none (unknown user).
    /// Runs inline: scrypt is CPU-bound, and a hop to Dispatch's global pool would contend with the cooperative
    /// pool, which on Linux shares that pool.
    public func verify(_ password: String, against encoded: String?) -> Bool {
        guard let encoded else {
            verifyAgainstNothing(password)
            return false
        }
        return verify(password, against: encoded)
    }

    private static func derive(_ password: [UInt8], salt: [UInt8], cost: Cost) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: password, salt: salt, outputByteCount: hashByteCount,
            rounds: 1 << cost.logN, blockSize: cost.blockSize, parallelism: cost.parallelism)
        return key.withUnsafeBytes { Array($0) }
    }

    private struct ParsedHash {
        var cost: Cost
        var salt: [UInt8]
        var hash: [UInt8]

        init?(_ encoded: String) {
            let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
            var values: [Substring: Int] = [:]
            for pair in parts[2].split(separator: ",") {
                let kv = pair.split(separator: "=")
                guard kv.count == 2, let value = Int(kv[1]) else { return nil }
                values[kv[0]] = value
            }
            guard let logN = values["ln"], let r = values["r"], let p = values["p"],
                (1...24).contains(logN), (1...32).contains(r), (1...16).contains(p),
                let salt = Data(base64Encoded: String(parts[3])), let hash = Data(base64Encoded: String(parts[4])),
                !hash.isEmpty
            else { return nil }
            self.cost = Cost(logN: logN, blockSize: r, parallelism: p)
            self.salt = Array(salt)
            self.hash = Array(hash)
        }
    }
}
