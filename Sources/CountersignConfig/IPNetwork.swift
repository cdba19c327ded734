#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR form, e.g. `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 octets, host bits zero.
    public var address: [UInt8]
    public var prefixLength: Int

    /// Why a CIDR string was rejected; lets the configuration explain the problem.
    enum ParseFailure: Error, Equatable {
        case invalid
        /// Bits beyond the prefix are set; `network` is what the user probably meant.
        case hostBitsSet(network: IPNetwork)
    }

    /// Parses `a.b.c.d[/n]` or an IPv6 address `x::y[/n]`; nil when invalid or host bits are set.
    public init?(_ cidr: String) {
        guard case .success(let network) = Self.parse(cidr) else { return nil }
        self = network
    }

    /// A network from raw octets; nil when the length is not 4 or 16, the prefix is out of range, or host bits are set.
    public init?(address: [UInt8], prefixLength: Int) {
        guard address.count == 4 || address.count == 16,
              (0...address.count * 8).contains(prefixLength),
              Self.masked(address, prefixLength) == address
        else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    static func parse(_ cidr: String) -> Result<IPNetwork, ParseFailure> {
        let parts = cidr.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let octets = Self.parseAddress(String(parts[0])) else { return .failure(.invalid) }
        var prefix = octets.count * 8
        if parts.count == 2 {
            // Digits only: Int("+8") would otherwise be accepted.
            let text = parts[1]
            guard !text.isEmpty, text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(text), value <= octets.count * 8
            else { return .failure(.invalid) }
            prefix = value
        }
        let network = Self.masked(octets, prefix)
        guard network == octets else {
            return .failure(.hostBitsSet(network: IPNetwork(unchecked: network, prefix)))
        }
        return .success(IPNetwork(unchecked: octets, prefix))
    }

    private init(unchecked address: [UInt8], _ prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses a literal IPv4 (dotted quad) or IPv6 address with inet_pton; 4 or 16 octets, nil when invalid.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var octets = [UInt8](repeating: 0, count: 16)
            let ok = octets.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
            return ok == 1 ? octets : nil
        } else {
            var octets = [UInt8](repeating: 0, count: 4)
            let ok = octets.withUnsafeMutableBytes { inet_pton(AF_INET, text, $0.baseAddress) }
            return ok == 1 ? octets : nil
        }
    }

    /// Whether `address` (4 or 16 octets) is inside this network. Families must match, except that an
    /// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports) matches IPv4 networks.
    /// Compared in place, octet by octet up to the prefix: every request's client is found this way.
    public func contains(_ address: [UInt8]) -> Bool {
        let start: Int
        if address.count == self.address.count {
            start = 0
        } else if self.address.count == 4, address.count == 16, Self.isIPv4Mapped(address) {
            start = 12
        } else {
            return false
        }
        var bitsLeft = prefixLength
        for (index, networkOctet) in self.address.enumerated() where bitsLeft > 0 {
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - min(bitsLeft, 8)))
            guard address[start + index] & mask == networkOctet else { return false }
            bitsLeft -= 8
        }
        return true
    }

    /// `10.0.0.0/8`, `fd00::/8`; the prefix is always shown.
    public var description: String {
        "\(Self.format(address))/\(prefixLength)"
    }

    /// Text form of 4 or 16 octets via inet_ntop.
    static func format(_ octets: [UInt8]) -> String {
        let family = octets.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let result = octets.withUnsafeBytes { bytes in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family, bytes.baseAddress, out.baseAddress, socklen_t(out.count))
            }
        }
        guard result != nil else { return octets.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func isIPv4Mapped(_ octets: [UInt8]) -> Bool {
        octets.count == 16 && octets[0..<10].allSatisfy { $0 == 0 } && octets[10] == 0xff && octets[11] == 0xff
    }

    /// `octets` with every bit after the first `prefixLength` cleared.
    static func masked(_ octets: [UInt8], _ prefixLength: Int) -> [UInt8] {
        var result = octets
        for index in result.indices {
            let bitsKept = max(0, min(8, prefixLength - index * 8))
            let mask: UInt8 = bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bitsKept))
            result[index] &= mask
        }
        return result
    }
}
