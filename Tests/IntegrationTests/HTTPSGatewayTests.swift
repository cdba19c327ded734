import CountersignApp
import CountersignConfig
import CountersignHTTP
import Foundation
import LogCapture
import Logging
import MFACore
import Testing

/// The HTTP listener with `http.certificate` and `http.private_key`: HTTPS that curl and countersign-device verify
/// against a test CA.
@Suite struct HTTPSGatewayTests {
    static func withCertificateAuthority(_ body: (TestCertificateAuthority) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-ca-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await body(try await TestCertificateAuthority(in: folder))
    }

    /// curl's exit status and output for one GET.
    static func curl(_ arguments: [String]) async throws -> (status: Int32, output: [String]) {
        let process = try ChildProcess("/usr/bin/curl", ["-sS", "--max-time", "\(Int(TestTimeout.scaled(20)))"] + arguments)
        return (try await process.exitStatus(), process.output)
    }

    @Test func healthzIsServedOverHTTPSVerifiedAgainstTheCA() async throws {
        try await Self.withCertificateAuthority { ca in
            try await TestGateway.with(httpsWith: ca) { gateway in
                for host in ["127.0.0.1", "localhost"] {
                    let url = "https://\(host):\(gateway.httpPort)/healthz"
                    let verified = try await Self.curl(["--cacert", ca.caPath, url])
                    #expect(verified.status == 0, "\(verified.output)")
                    #expect(verified.output == [#"{"status":"ok"}"#])
                    // The system's CAs do not know the test CA: 60 is curl's "peer certificate cannot be authenticated".
                    #expect(try await Self.curl([url]).status == 60)
                }
                let plain = try await Self.curl(["http://127.0.0.1:\(gateway.httpPort)/healthz"])
                #expect(plain.status != 0, "\(plain.output)")
            }
        }
    }

    @Test func countersignDeviceEnrollsAndAnswersOverHTTPSOnlyWithTheCA() async throws {
        try await Self.withCertificateAuthority { ca in
            try await TestGateway.with(httpsWith: ca) { gateway in
                try await gateway.addUser("bob", password: "pw", totp: false)
                let link = try await gateway.admin.enrollDevice("bob").link
                #expect(link.hasPrefix("https://127.0.0.1:\(gateway.httpPort)/authenticator#code="))
                let device = ChildProcess.builtProduct("countersign-device")
                let keystore = gateway.directory + "/bob.json"

                let untrusted = try ChildProcess(device, ["enroll", link, "--keystore", keystore])
                #expect(try await untrusted.exitStatus() == 1)
                #expect(untrusted.output.contains { $0.contains("cannot reach the server") && $0.contains("CERTIFICATE_VERIFY_FAILED") },
                    "\(untrusted.output)")
                #expect(!FileManager.default.fileExists(atPath: keystore))

                // The refused handshake spent nothing: the same link enrolls with the CA.
                let trusted = try ChildProcess(device, ["enroll", link, "--keystore", keystore, "--ca", ca.caPath])
                #expect(try await trusted.exitStatus() == 0, "\(trusted.output)")

                let listener = try ChildProcess(
                    device, ["listen", "--keystore", keystore, "--ca", ca.caPath, "--approve", "--count", "1"])
                defer { listener.terminate() }
                let reply = try await gateway.radclient(timeout: 30).send(RADIUSGatewayTests.login("bob", "pw"))
                #expect(reply.code == "Access-Accept", "\(reply.output) \(listener.output)")
                #expect(try await listener.exitStatus() == 0, "\(listener.output)")
            }
        }
    }

    @Test func anUnreadableCertificateStopsStartupNamingTheKey() async throws {
        let missing = TestCertificateAuthority(
            caPath: "/nonexistent/ca.pem", certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        let error = await #expect(throws: TLSFileError.self) { try await TestGateway.with(httpsWith: missing) { _ in } }
        #expect(error?.key == "http.certificate")
        #expect(error?.description.hasPrefix("http.certificate: cannot use /nonexistent/cert.pem: ") == true)
    }

    @Test(arguments: [("0.0.0.0", false, true), ("::", false, true), ("127.0.0.1", false, false), ("0.0.0.0", true, false)])
    func plainHTTPOnANetworkAddressWarnsAtStartup(host: String, tls: Bool, warns: Bool) async throws {
        try await Self.withCertificateAuthority { ca in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-warn-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let log = CapturedLog()
            let configuration = CountersignConfiguration(
                store: StoreSettings(path: folder + "/countersign.db"),
                radius: RADIUSSettings(listen: [ListenAddress(host: "127.0.0.1", port: 0)], clients: TestGateway.defaultClients()),
                mfa: MFASettings(), totp: TOTPSettings(), log: LogSettings(),
                http: HTTPSettings(
                    listen: ListenAddress(host: host, port: 0), certificatePath: tls ? ca.certificatePath : nil,
                    privateKeyPath: tls ? ca.privateKeyPath : nil))
            // Built, never bound: the warning is part of building the listener.
            _ = try await CountersignGateway(
                configuration: configuration, handlingSignals: false, logger: log.logger(label: "test"))
            let lines = log.all.map { "\($0.level) \($0.message)" }
            let warnings = lines.filter { $0.hasPrefix("warning HTTP listens on a network address without TLS") }
            #expect(warnings.count == (warns ? 1 : 0), "\(lines)")
        }
    }
}
