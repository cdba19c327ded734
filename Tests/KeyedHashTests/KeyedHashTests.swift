import Crypto
import Foundation
import Testing

@testable import KeyedHash

@Suite struct KeyedHashTests {
    /// RFC 2202 §2 and §3, test cases 1, 3 and 6 (short key, 50 octets of 0xdd, a key longer than the block).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 16), Array("Hi There".utf8), "9294727a3638bb1c13f48ef8158bfc9d", true),
        ([UInt8](repeating: 0xaa, count: 16), [UInt8](repeating: 0xdd, count: 50), "56be34521d144c88dbb8c733f0e8b3f6", true),
        ([UInt8](repeating: 0xaa, count: 80), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd", true),
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b617318655057264e28bc0b6fb378c8ef146be00", false),
        ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3", false),
        ([UInt8](repeating: 0xaa, count: 80), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "aa4ae5e15272d00e95705637ce8a3b55ed402112", false),
    ])
    func rfc2202(key: [UInt8], data: [UInt8], mac: String, md5: Bool) {
        let computed: [UInt8]
        if md5 {
            var hash = KeyedHash<Insecure.MD5>(key: key)
            hash.update(data)
            computed = hash.finalize()
        } else {
            var hash = KeyedHash<Insecure.SHA1>(key: key)
            hash.update(data)
            computed = hash.finalize()
        }
        #expect(computed.map { String(format: "%02x", $0) }.joined() == mac)
    }

    /// The same MAC as swift-crypto's HMAC for keys around each block size, fed in parts, and a keyed state used
    /// twice gives the same MAC twice.
    @Test func matchesHMACForEveryHashAndKeyLength() {
        func check<H: HashFunction>(_: H.Type) {
            for length in [0, 1, 20, 63, 64, 65, 127, 128, 129, 300] {
                let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
                let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 13) }
                let keyed = KeyedHash<H>(key: key)
                var ours = keyed
                message[..<77].withUnsafeBytes { ours.update($0) }
                ours.update(Array(message[77...]))
                let theirs = Array(HMAC<H>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                #expect(ours.finalize() == theirs, "\(H.self), key of \(length)")
                var again = keyed
                again.update(message)
                #expect(again.finalize() == theirs)
            }
        }
        check(Insecure.MD5.self)
        check(Insecure.SHA1.self)
        check(SHA256.self)
        check(SHA384.self)
        check(SHA512.self)
    }
}
