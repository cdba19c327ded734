import Foundation
import Testing

@testable import CountersignConfig

/// `[radius.tls]` and the clients with `transport = "tls"`.
@Suite struct RADIUSTLSConfigurationTests {
    static let tls = """
        [radius.tls]
        certificate = "tls/server.pem"
        private_key = "tls/server.key"
        client_ca = "/etc/ssl/nas-ca.pem"
        """

    static func tlsClient(_ extra: String = "") -> String {
        """
        [[radius.clients]]
        name = "vpn"
        address = "192.0.2.0/24"
        transport = "tls"
        \(extra)
        """
    }

    @Test func withoutTheTableThereIsNoRadSecAndClientsAreUDP() throws {
        let config = try parse(minimalClient)
        #expect(config.radius.tls == nil)
        #expect(config.radius.clients[0].transport == .udp)
        #expect(config.radius.clients[0].certificateName == nil)
    }

    @Test func defaultsPathsResolvedAndTheRadSecSecret() throws {
        let config = try parse(minimalClient + "\n" + Self.tls + "\n" + Self.tlsClient())
        let tls = try #require(config.radius.tls)
        #expect(tls.listen == [ListenAddress(host: "127.0.0.1", port: 2083)])
        #expect(tls.certificatePath == "/etc/countersign/tls/server.pem")
        #expect(tls.privateKeyPath == "/etc/countersign/tls/server.key")
        #expect(tls.clientCAPath == "/etc/ssl/nas-ca.pem")
        #expect(tls.idleTimeoutSeconds == 300)
        #expect(tls.maxConnections == 1024)
        #expect(tls.maxConnectionsPerAddress == 16)
        let client = config.radius.clients[1]
        #expect(client.transport == .tls)
        // RFC 6614 §2.3.
        #expect(client.secret == "radsec")
    }

    @Test func everyKeySet() throws {
        let config = try parse(
            minimalClient + """

                [radius.tls]
                listen = ["0.0.0.0:2083", "[::]:12083"]
                certificate = "/c.pem"
                private_key = "/k.pem"
                client_ca = "/ca.pem"
                idle_timeout = 60
                max_connections = 10
                max_connections_per_address = 2
                """ + "\n" + Self.tlsClient(#"secret = "other"\#ncertificate_name = "vpn.example.org""#))
        let tls = try #require(config.radius.tls)
        #expect(tls.listen == [ListenAddress(host: "0.0.0.0", port: 2083), ListenAddress(host: "::", port: 12083)])
        #expect(tls.idleTimeoutSeconds == 60 && tls.maxConnections == 10 && tls.maxConnectionsPerAddress == 2)
        #expect(config.radius.clients[1].secret == "other")
        #expect(config.radius.clients[1].certificateName == "vpn.example.org")
    }

    @Test func aTLSClientNeedsTheTable() {
        let error = parseError(minimalClient + "\n" + Self.tlsClient())
        #expect(error?.code == .missingKey)
        #expect(error?.key == "radius.clients[1].transport")
    }

    @Test func aUDPClientHasNoCertificateNameAndStillNeedsASecret() {
        let named = parseError(minimalClient + "\ncertificate_name = \"nas\"\n" + Self.tls)
        #expect(named?.key == "radius.clients[0].certificate_name")
        let secretless = parseError(
            """
            [[radius.clients]]
            name = "nas"
            address = "10.0.0.0/8"
            """)
        #expect(secretless?.code == .missingKey)
        #expect(secretless?.key == "radius.clients[0].secret")
    }

    @Test(arguments: [
        ("certificate", "radius.tls.certificate"), ("private_key", "radius.tls.private_key"), ("client_ca", "radius.tls.client_ca"),
    ])
    func eachFileIsRequired(key: String, named: String) {
        let without = Self.tls.split(separator: "\n").filter { !$0.hasPrefix(key + " ") }.joined(separator: "\n")
        let error = parseError(minimalClient + "\n" + without)
        #expect(error?.code == .missingKey)
        #expect(error?.key == named)
    }

    @Test func limitsAreChecked() {
        #expect(parseError(minimalClient + "\n" + Self.tls + "\nidle_timeout = 0")?.key == "radius.tls.idle_timeout")
        #expect(parseError(minimalClient + "\n" + Self.tls + "\nmax_connections = 0")?.key == "radius.tls.max_connections")
        #expect(parseError(minimalClient + "\n" + Self.tls + "\nunknown = 1")?.code == .unknownKey)
        #expect(parseError(minimalClient + "\n" + Self.tls + "\nlisten = []")?.key == "radius.tls.listen")
    }

    @Test func oneNetworkMayHaveAClientPerTransportAndPerCertificateName() throws {
        let udpAndTLS = """
            [[radius.clients]]
            name = "nas-udp"
            address = "192.0.2.0/24"
            secret = "s3cret"
            """
        let config = try parse(
            udpAndTLS + "\n" + Self.tls + "\n" + Self.tlsClient(#"certificate_name = "a""#)
                + "\n" + Self.tlsClient(#"certificate_name = "b""#).replacingOccurrences(of: "\"vpn\"", with: "\"vpn2\""))
        #expect(config.radius.clients.map(\.transport) == [.udp, .tls, .tls])
        let twice = parseError(udpAndTLS + "\n" + Self.tls + "\n" + Self.tlsClient() + "\n" + Self.tlsClient().replacingOccurrences(of: "\"vpn\"", with: "\"vpn2\""))
        #expect(twice?.code == .duplicate)
        #expect(twice?.key == "radius.clients[2].address")
    }
}
