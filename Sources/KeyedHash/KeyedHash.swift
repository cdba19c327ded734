import Crypto
import Foundation

/// HMAC (RFC 2104) as two hash states keyed once: each copy starts from them, so a message pays for its own octets
/// and two finalisations, not for padding and hashing the key again.
///
/// swift-crypto's `HMAC` computes the same, but its `update(data:)` is generic over `DataProtocol` and not
/// inlinable, so every call walks the argument's regions through generic metadata looked up at run time (3 % of the
/// server's samples on the RADIUS login path, BENCHMARKS.md). This feeds the hash functions' own non-generic
/// `update(bufferPointer:)`; `KeyedHashTests` checks it against `HMAC` and RFC 2202's vectors.
public struct KeyedHash<H: HashFunction>: Sendable {
    @usableFromInline var inner: H
    @usableFromInline let outer: H

    @inlinable
    public init(key: [UInt8]) {
        // RFC 2104 §2: a key longer than the block is hashed first; shorter, it is padded with zeros. The block is
        // on the stack and zeroed after use (a login keys one for its TOTP check).
        (inner, outer) = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: H.blockByteCount) { block in
            block.initialize(repeating: 0)
            if key.count > H.blockByteCount {
                var hash = H()
                key.withUnsafeBytes { hash.update(bufferPointer: $0) }
                hash.finalize().withUnsafeBytes { digest in
                    for (index, octet) in digest.enumerated() { block[index] = octet }
                }
            } else {
                for (index, octet) in key.enumerated() { block[index] = octet }
            }
            let keyed = (Self.hasher(block, padding: 0x36), Self.hasher(block, padding: 0x5c))
            block.update(repeating: 0)
            return keyed
        }
    }

    /// A hash state that has taken the key block XORed with `padding`; `block` is as it was after.
    @inlinable
    static func hasher(_ block: UnsafeMutableBufferPointer<UInt8>, padding: UInt8) -> H {
        var hasher = H()
        for index in block.indices { block[index] ^= padding }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(block))
        for index in block.indices { block[index] ^= padding }
        return hasher
    }

    @inlinable
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        inner.update(bufferPointer: bytes)
    }

    @inlinable
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { inner.update(bufferPointer: $0) }
    }

    /// The MAC's octets.
    @inlinable
    public func finalize() -> [UInt8] {
        withMAC { Array($0) }
    }

    /// `body` with the MAC's octets, copied nowhere.
    @inlinable
    public func withMAC<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var outer = self.outer
        inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes(body)
    }
}
