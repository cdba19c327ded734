import Foundation

/// A throw-away CA and a server certificate it signed for `localhost` and 127.0.0.1, made with openssl (P-256 keys,
/// made in milliseconds), in a folder of the test's; client certificates on request.
struct TestCertificateAuthority {
    let caPath: String
    let certificatePath: String
    let privateKeyPath: String
    /// The CA's own key, which signs the certificates it issues.
    let caKeyPath: String

    init(caPath: String, certificatePath: String, privateKeyPath: String) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        caKeyPath = ""
    }

    init(in folder: String) async throws {
        let tls = folder + "/tls"
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        caPath = tls + "/ca.pem"
        caKeyPath = tls + "/ca.key"
        certificatePath = tls + "/cert.pem"
        privateKeyPath = tls + "/key.pem"
        try await Self.openssl(
            ["req", "-x509"] + Self.newKey + [
                "-days", "2", "-keyout", caKeyPath, "-out", caPath, "-subj", "/O=Countersign tests/CN=Countersign test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try await issue(
            subject: "/CN=localhost", usage: "serverAuth", alternativeNames: "DNS:localhost, IP:127.0.0.1",
            certificate: certificatePath, key: privateKeyPath)
    }

    /// A client certificate (TLS client authentication, as RadSec clients present) for `name`, as its common name and
    /// a DNS subjectAltName, beside the CA's files; its certificate and key paths.
    func issueClientCertificate(name: String) async throws -> (certificate: String, key: String) {
        let folder = URL(fileURLWithPath: caPath).deletingLastPathComponent().path
        let paths = (certificate: folder + "/\(name)-cert.pem", key: folder + "/\(name)-key.pem")
        try await issue(subject: "/CN=\(name)", usage: "clientAuth", alternativeNames: "DNS:\(name)", certificate: paths.certificate, key: paths.key)
        return paths
    }

    private func issue(subject: String, usage: String, alternativeNames: String, certificate: String, key: String) async throws {
        let extensions = certificate + ".ext"
        FileManager.default.createFile(
            atPath: extensions,
            contents: Data(
                """
                basicConstraints = critical, CA:FALSE
                keyUsage = critical, digitalSignature
                extendedKeyUsage = \(usage)
                subjectAltName = \(alternativeNames)
                """.utf8))
        try await Self.openssl(["req"] + Self.newKey + ["-keyout", key, "-out", certificate + ".csr", "-subj", subject])
        try await Self.openssl([
            "x509", "-req", "-sha256", "-days", "2", "-in", certificate + ".csr", "-CA", caPath, "-CAkey", caKeyPath,
            "-set_serial", "\(UInt64.random(in: 1...(UInt64.max >> 1)))", "-extfile", extensions, "-out", certificate,
        ])
    }

    private static let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256"]

    private static func openssl(_ arguments: [String]) async throws {
        let process = try ChildProcess("/usr/bin/openssl", arguments)
        guard try await process.exitStatus() == 0 else { throw Failed(output: process.output) }
    }

    struct Failed: Error { var output: [String] }
}
