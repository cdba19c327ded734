import Testing

@testable import CountersignConfig

@Suite("IPNetwork")
struct IPNetworkTests {
    private func ip(_ text: String) throws -> [UInt8] {
        try #require(IPNetwork.parseAddress(text))
    }

    @Test func parsesAndDescribes() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(v4.address == [10, 0, 0, 0])
        #expect(v4.prefixLength == 8)
        #expect(v4.description == "10.0.0.0/8")
        #expect(IPNetwork("127.0.0.1")?.prefixLength == 32)
        #expect(IPNetwork("::1")?.prefixLength == 128)
        #expect(IPNetwork("::1")?.description == "::1/128")
        #expect(IPNetwork("fd00::/8")?.address.count == 16)
        #expect(IPNetwork("FD00::/8") == IPNetwork("fd00::/8"))
    }

    @Test(arguments: ["10.0.0.1/8", "10.0.0.0/33", "1.2.3", "01.2.3.4", "fe80::1%eth0", "::1/129", "10.0.0.0/-1",
                      "10.0.0.0/8/8", "", "/8", "fd00::1/8"])
    func rejects(_ text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test func rawInitializerChecksInvariants() {
        #expect(IPNetwork(address: [10, 0, 0, 0], prefixLength: 8) == IPNetwork("10.0.0.0/8"))
        #expect(IPNetwork(address: [10, 0, 0, 1], prefixLength: 8) == nil)
        #expect(IPNetwork(address: [10, 0, 0], prefixLength: 8) == nil)
        #expect(IPNetwork(address: [10, 0, 0, 0], prefixLength: 40) == nil)
    }

    @Test func containsIPv4() throws {
        let net = try #require(IPNetwork("192.168.16.0/20"))
        #expect(net.contains(try ip("192.168.16.0")))
        #expect(net.contains(try ip("192.168.31.255")))
        #expect(!net.contains(try ip("192.168.32.0")))
        #expect(!net.contains(try ip("192.168.15.255")))
    }

    @Test func containsIPv6() throws {
        let net = try #require(IPNetwork("fd00:1234::/32"))
        #expect(net.contains(try ip("fd00:1234::1")))
        #expect(net.contains(try ip("fd00:1234:ffff::")))
        #expect(!net.contains(try ip("fd00:1235::1")))
        #expect(!net.contains(try ip("10.0.0.1")))
    }

    @Test func zeroPrefixMatchesItsFamilyOnly() throws {
        let any4 = try #require(IPNetwork("0.0.0.0/0"))
        #expect(any4.contains(try ip("255.255.255.255")))
        #expect(any4.contains(try ip("0.0.0.0")))
        #expect(!any4.contains(try ip("::1")))
        let any6 = try #require(IPNetwork("::/0"))
        #expect(any6.contains(try ip("ffff::1")))
        #expect(!any6.contains(try ip("1.2.3.4")))
    }

    @Test func hostRoutes() throws {
        let v4 = try #require(IPNetwork("127.0.0.1/32"))
        #expect(v4.contains(try ip("127.0.0.1")))
        #expect(!v4.contains(try ip("127.0.0.2")))
        let v6 = try #require(IPNetwork("::1/128"))
        #expect(v6.contains(try ip("::1")))
        #expect(!v6.contains(try ip("::2")))
        #expect(!v6.contains(try ip("127.0.0.1")))
    }

    @Test func mappedIPv4MatchesIPv4Networks() throws {
        let net = try #require(IPNetwork("10.0.0.0/8"))
        #expect(net.contains(try ip("::ffff:10.1.2.3")))
        #expect(!net.contains(try ip("::ffff:11.1.2.3")))
        // Only the ::ffff:0:0/96 form is an IPv4 address; other IPv6 addresses with the same low bits are not.
        #expect(!net.contains(try ip("::10.1.2.3")))
        #expect(!net.contains(try ip("64:ff9b::10.1.2.3")))
        #expect(try #require(IPNetwork("127.0.0.1/32")).contains(try ip("::ffff:127.0.0.1")))
    }

    /// The in-place comparison against the rule it stands for: the address masked to the prefix is the network.
    @Test func containsAgreesWithMaskingAtEveryPrefixLength() throws {
        var generator = SystemRandomNumberGenerator()
        for octetCount in [4, 16] {
            for prefixLength in 0...(octetCount * 8) {
                for _ in 0..<20 {
                    let address = (0..<octetCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    let network = try #require(
                        IPNetwork(address: IPNetwork.masked(address, prefixLength), prefixLength: prefixLength))
                    #expect(network.contains(address))
                    var other = address
                    other[Int.random(in: 0..<octetCount, using: &generator)] ^= 1 << UInt8.random(in: 0...7, using: &generator)
                    #expect(network.contains(other) == (IPNetwork.masked(other, prefixLength) == network.address))
                }
            }
        }
    }

    @Test func wrongLengthNeverMatches() throws {
        let net = try #require(IPNetwork("0.0.0.0/0"))
        #expect(!net.contains([]))
        #expect(!net.contains([1, 2, 3]))
    }
}
