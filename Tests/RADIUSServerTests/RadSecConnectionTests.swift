import CountersignConfig
import NIOCore
import NIOEmbedded
import Testing

@testable import RADIUSServer

/// Which RadSec client a connection is, and how many connections may be open.
@Suite struct RadSecConnectionTests {
    static func client(_ name: String, _ network: String, certificateName: String? = nil) -> RADIUSClient {
        RADIUSClient(
            RADIUSClientSettings(
                name: name, network: IPNetwork(network)!, secret: "radsec", transport: .tls, certificateName: certificateName))
    }

    @Test func theLongestPrefixWhoseCertificateNameMatchesIsTheClient() {
        let table = RADIUSClientTable([
            Self.client("site", "10.0.0.0/8"),
            Self.client("vpn-a", "10.1.0.0/16", certificateName: "VPN-A.example.org"),
            Self.client("vpn-b", "10.1.0.0/16", certificateName: "vpn-b.example.org"),
        ])
        let address: [UInt8] = [10, 1, 2, 3]
        #expect(table.knows(address))
        #expect(!table.knows([192, 0, 2, 1]))
        // DNS names compare without case.
        #expect(table.client(for: address, certificateNames: ["vpn-a.example.org"])?.name == "vpn-a")
        #expect(table.client(for: address, certificateNames: ["other", "vpn-b.example.org"])?.name == "vpn-b")
        // No name matches: the shorter prefix without a certificate name takes it.
        #expect(table.client(for: address, certificateNames: ["intruder"])?.name == "site")
        #expect(table.client(for: [192, 0, 2, 1], certificateNames: ["vpn-a.example.org"]) == nil)

        let named = RADIUSClientTable([Self.client("vpn-a", "10.1.0.0/16", certificateName: "vpn-a.example.org")])
        #expect(named.client(for: address, certificateNames: []) == nil)
    }

    @Test func connectionsAreCappedInAllAndPerAddress() {
        let connections = RadSecConnections(maximum: 3, maximumPerAddress: 2)
        let channels = (0..<4).map { _ in EmbeddedChannel() }
        let first: [UInt8] = [10, 0, 0, 1]
        let second: [UInt8] = [10, 0, 0, 2]
        #expect(connections.opened(channels[0], from: first))
        #expect(connections.opened(channels[1], from: first))
        #expect(!connections.opened(channels[2], from: first))
        #expect(connections.opened(channels[2], from: second))
        #expect(!connections.opened(channels[3], from: second))
        #expect(connections.count == 3)
        connections.closed(channels[0], from: first)
        // A second close of the same connection changes nothing.
        connections.closed(channels[0], from: first)
        #expect(connections.count == 2)
        #expect(connections.opened(channels[3], from: first))
        #expect(!connections.opened(channels[0], from: first))
    }
}
