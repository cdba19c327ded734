import Foundation
import MFACore
import RADIUSCodec
import Testing

/// RadSec (RFC 6614) end to end: radclient's UDP requests, forwarded over TLS by radsecproxy (Debian's, the real peer)
/// to `countersign serve`, with certificates made by openssl.
@Suite struct RadSecTests {
    static let radsecproxyPath = "/usr/sbin/radsecproxy"
    /// The RadSec client's name, which its certificate must carry.
    static let clientName = "nas1"

    /// A running `countersign serve` with `[radius.tls]` and radsecproxy in front of it.
    struct Running {
        let installation: ServeProcessTests.Installation
        let ca: TestCertificateAuthority
        let clientIdentity: (certificate: String, key: String)
        /// Countersign's RadSec port.
        let radsecPort: Int
        /// radsecproxy's UDP port, where radclient sends.
        let proxyPort: Int
        let server: ChildProcess
        let proxy: ChildProcess

        /// radclient, pointed at radsecproxy; generous, as the serve process hashes passwords at the real scrypt cost.
        var radclient: Radclient { Radclient(server: "127.0.0.1:\(proxyPort)", secret: TestGateway.secret, timeout: 30) }

        /// The test's own TLS client, straight to Countersign.
        func direct(identity: (certificate: String, key: String)?) -> RadSecTestClient {
            RadSecTestClient(port: radsecPort, serverCA: ca.caPath, identity: identity)
        }

        func cli(_ arguments: [String], input: String? = nil) async throws -> [String] {
            try await installation.cli(arguments, input: input)
        }
    }

    /// Starts both after `prepare` (users, enrollments: the CLI on the same store before the server runs), runs `body`,
    /// and stops them.
    /// `tlsSettings`: more `[radius.tls]` lines.
    static func withRadSec(
        tlsSettings: String = "", prepare: (ServeProcessTests.Installation) async throws -> Void = { _ in },
        _ body: (Running) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-radsec-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ca = try await TestCertificateAuthority(in: folder)
        let clientIdentity = try await ca.issueClientCertificate(name: clientName)
        let radsecPort = try ServeProcessTests.Installation.freePort()
        let installation = try ServeProcessTests.Installation(
            sections: """
                [radius.tls]
                listen = ["127.0.0.1:\(radsecPort)"]
                certificate = "\(ca.certificatePath)"
                private_key = "\(ca.privateKeyPath)"
                client_ca = "\(ca.caPath)"
                \(tlsSettings)
                [[radius.clients]]
                name = "\(clientName)"
                address = "127.0.0.1/32"
                transport = "tls"
                certificate_name = "\(clientName)"
                [[radius.reply]]
                client = "\(clientName)"
                attributes = ['Filter-Id = "radsec"']
                """)
        defer { installation.remove() }
        try await prepare(installation)

        let (server, _) = try await installation.serve()
        defer { server.terminate() }
        guard await server.lines(where: { $0.contains("\"RadSec listening\"") && $0.contains(":\(radsecPort)") }) != nil else {
            throw ServeProcessTests.CommandFailed(output: server.output)
        }

        let proxyPort = try UDPTestClient.freePort()
        let proxyConfiguration = folder + "/radsecproxy.conf"
        // A UDP client for radclient, Countersign as a TLS server (its certificate checked against 127.0.0.1, ours
        // presented), every realm to it. The secret towards Countersign is RFC 6614's "radsec", radsecproxy's default.
        let text = """
            ListenUDP 127.0.0.1:\(proxyPort)
            tls countersign {
                CACertificateFile \(ca.caPath)
                CertificateFile \(clientIdentity.certificate)
                CertificateKeyFile \(clientIdentity.key)
            }
            client 127.0.0.1 {
                type udp
                secret \(TestGateway.secret)
            }
            server 127.0.0.1 {
                type tls
                port \(radsecPort)
                tls countersign
                RetryInterval 30
                RetryCount 0
            }
            realm * {
                server 127.0.0.1
            }
            """
        _ = FileManager.default.createFile(atPath: proxyConfiguration, contents: Data(text.utf8))
        let proxy = try ChildProcess(radsecproxyPath, ["-f", "-d", "4", "-c", proxyConfiguration])
        // SIGKILL: radsecproxy keeps the signal mask it was started with, in which the test process blocks SIGTERM.
        defer { proxy.signal(SIGKILL) }
        guard await proxy.lines(where: { $0.contains("listening for udp on 127.0.0.1:\(proxyPort)") }) != nil else {
            throw ServeProcessTests.CommandFailed(output: proxy.output)
        }
        try await body(
            Running(
                installation: installation, ca: ca, clientIdentity: clientIdentity, radsecPort: radsecPort, proxyPort: proxyPort,
                server: server, proxy: proxy))
    }

    /// Adds `user` with password `pw` and a TOTP secret; the secret.
    static func addTOTPUser(_ user: String, _ installation: ServeProcessTests.Installation) async throws -> [UInt8] {
        _ = try await installation.cli(["user", "add", user, "--password-stdin"], input: "pw\n")
        let enrolled = try await installation.cli(["totp", "enroll", user, "--json"])
        let json = try #require(enrolled.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] })
        return try #require(json["secret"].flatMap(Base32.decode))
    }

    static func code(_ secret: [UInt8]) -> String { OneTimeCode.totp(secret: secret, at: Date()) }

    @Test func appendedCodeWrongPasswordAndChallengeThroughRadsecproxy() async throws {
        let secrets = Locked<[String: [UInt8]]>([:])
        try await Self.withRadSec(prepare: { installation in
            for user in ["alice", "carol"] {
                let secret = try await Self.addTOTPUser(user, installation)
                secrets.withLock { $0[user] = secret }
            }
        }) { running in
            let alice = try #require(secrets.withLock { $0["alice"] })
            let carol = try #require(secrets.withLock { $0["carol"] })
            let client = running.radclient

            let accepted = try await client.send(RADIUSGatewayTests.login("alice", "pw,\(Self.code(alice))"))
            #expect(accepted.code == "Access-Accept", "\(accepted.output) \(running.proxy.output.suffix(8)) \(running.server.output.suffix(5))")
            // The reply rule for the RadSec client, on every Accept and nothing else.
            #expect(accepted.values("Filter-Id") == ["radsec"], "\(accepted.output)")

            let wrongPassword = try await client.send(RADIUSGatewayTests.login("alice", "wrong,\(Self.code(alice))"))
            #expect(wrongPassword.code == "Access-Reject", "\(wrongPassword.output)")
            #expect(wrongPassword.value("Reply-Message") == "Wrong username or password")
            #expect(wrongPassword.values("Filter-Id").isEmpty)

            let challenge = try await client.send(RADIUSGatewayTests.login("carol", "pw"))
            #expect(challenge.code == "Access-Challenge", "\(challenge.output)")
            #expect(challenge.value("Reply-Message") == "Enter your verification code")
            let state = try #require(challenge.value("State"))
            let answer = try await client.send(RADIUSGatewayTests.login("carol", Self.code(carol), extra: ["State = \(state)"]))
            #expect(answer.code == "Access-Accept", "\(answer.output)")
            #expect(challenge.values("Filter-Id").isEmpty && answer.values("Filter-Id") == ["radsec"], "\(answer.output)")

            // Decided as the RadSec client, not as the UDP client for the same address.
            let events = try await running.cli(["events", "--json"])
            #expect(events.contains { $0.contains("radius_auth") && $0.contains("radius:\(Self.clientName)") }, "\(events)")
            #expect(!events.contains { $0.contains("radius:localhost") }, "\(events)")

            // A graceful stop closes radsecproxy's open connection with the listener.
            running.server.signal(SIGTERM)
            #expect(try await running.server.exitStatus() == 0, "\(running.server.output.suffix(5))")
        }
    }

    @Test func approvedPushThroughRadsecproxy() async throws {
        let uri = Locked<String?>(nil)
        try await Self.withRadSec(prepare: { installation in
            _ = try await installation.cli(["user", "add", "bob", "--password-stdin"], input: "pw\n")
            let enrollment = try await installation.cli(["device", "enroll", "bob"]).last
            uri.withLock { $0 = enrollment }
        }) { running in
            let keystore = running.installation.folder + "/bob.json"
            let enroll = try ChildProcess(
                ChildProcess.builtProduct("countersign-device"), ["enroll", try #require(uri.withLock { $0 }), "--keystore", keystore])
            #expect(try await enroll.exitStatus() == 0, "\(enroll.output)")
            let device = try ChildProcess(
                ChildProcess.builtProduct("countersign-device"), ["listen", "--keystore", keystore, "--approve", "--count", "1"])
            defer { device.terminate() }

            let reply = try await running.radclient.send(RADIUSGatewayTests.login("bob", "pw"))
            #expect(reply.code == "Access-Accept", "\(reply.output) \(running.proxy.output.suffix(8))")
            #expect(reply.values("Filter-Id") == ["radsec"], "\(reply.output)")
            #expect(try await device.exitStatus() == 0, "\(device.output)")
            let shown = try #require(device.output.first { $0.hasPrefix("push ") })
            #expect(shown.contains("user bob wants radius:\(Self.clientName) from 127.0.0.1"), "\(shown)")
        }
    }

    /// A Status-Server with RFC 6614's secret, as the test's own client sends it.
    static func statusServer() -> [UInt8] {
        RADIUSPacket.encodeRequest(
            code: .statusServer, identifier: 7, authenticator: SecureRandom.bytes(16), attributes: [],
            secret: Array("radsec".utf8))
    }

    /// An Access-Request whose last attribute claims more octets than the packet has left.
    static func overrunningRequest() -> [UInt8] {
        var bytes = statusServer()
        bytes += [1, 10, 0x61]
        bytes[3] = UInt8(bytes.count)
        return bytes
    }

    @Test func connectionsWithoutTheRightCertificateOrWithGarbageAreClosedAndOthersGoOn() async throws {
        try await Self.withRadSec { running in
            let otherFolder = running.installation.folder + "/other"
            let otherCA = try await TestCertificateAuthority(in: otherFolder)
            let foreign = try await otherCA.issueClientCertificate(name: Self.clientName)
            // Signed by the right CA, but with a name no RadSec client has (the UDP client for the same address does
            // not count: it is not served over TLS).
            let intruder = try await running.ca.issueClientCertificate(name: "intruder")

            // The first two fail the handshake with the alert that says why; the third is closed after it.
            let refusals: [(String, (certificate: String, key: String)?, String?)] = [
                ("no certificate", nil, "CERTIFICATE_REQUIRED"), ("another CA", foreign, "UNKNOWN_CA"), ("another name", intruder, nil),
            ]
            for (what, identity, alert) in refusals {
                let exchange = try await running.direct(identity: identity).exchange(Self.statusServer())
                #expect(exchange.received.isEmpty && exchange.closedByServer, "\(what): \(exchange)")
                // The alert says why, unless the client was still writing when the server closed (TLS 1.3 checks the
                // client's certificate after the client has finished its side of the handshake).
                if let alert {
                    #expect(exchange.error.map { $0.contains(alert) || $0.contains("I/O on closed channel") } == true, "\(what): \(exchange)")
                }
            }

            // RFC 6613 §2.6.4: a Length below 20, or attributes that overrun the packet, close the connection unanswered.
            var badLength = Self.statusServer()
            badLength[2] = 0
            badLength[3] = 5
            for garbage in [badLength, Self.overrunningRequest()] {
                let closed = try await running.direct(identity: running.clientIdentity).exchange(garbage)
                #expect(closed.received.isEmpty && closed.closedByServer, "\(closed)")
            }

            // A well-formed packet of a code not served here (accounting shares the port) is discarded, and the
            // connection goes on: the Status-Server behind it is answered (RFC 5997 §3).
            let accounting = RADIUSPacket.encodeRequest(
                code: .accountingRequest, identifier: 6, authenticator: [UInt8](repeating: 0, count: 16),
                attributes: [RADIUSAttribute(type: .userName, string: "alice")], secret: Array("radsec".utf8))
            let served = try await running.direct(identity: running.clientIdentity).exchange(accounting + Self.statusServer())
            let reply = try RADIUSPacket(decoding: served.received)
            #expect(reply.code == .accessAccept && reply.identifier == 7)
            // And the proxy's connection, open all along, still works.
            let status = try await running.radclient.send(RADIUSGatewayTests.login("nobody", "pw,123456"))
            #expect(status.code == "Access-Reject", "\(status.output) \(running.proxy.output.suffix(15))")
        }
    }

    /// radsecproxy's own connection is closed too when it idles here; it is not used.
    @Test func aConnectionThatSaysNothingIsClosedAfterTheIdleTimeout() async throws {
        try await Self.withRadSec(tlsSettings: "idle_timeout = 1") { running in
            let idle = try await running.direct(identity: running.clientIdentity).exchange([])
            #expect(idle.received.isEmpty && idle.closedByServer && idle.error == nil, "\(idle)")
        }
    }
}
