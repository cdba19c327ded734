import Foundation

/// A throw-away CA and a server certificate it signed for `localhost` and 127.0.0.1, made with openssl (P-256 keys,
/// made in milliseconds), in a folder of the test's.
struct TestCertificateAuthority {
    let caPath: String
    let certificatePath: String
    let privateKeyPath: String

    init(caPath: String, certificatePath: String, privateKeyPath: String) {
        self.caPath = caPath
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }

    init(in folder: String) async throws {
        let tls = folder + "/tls"
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        caPath = tls + "/ca.pem"
        certificatePath = tls + "/cert.pem"
        privateKeyPath = tls + "/key.pem"
        let extensions = tls + "/cert.ext"
        FileManager.default.createFile(
            atPath: extensions,
            contents: Data(
                """
                basicConstraints = critical, CA:FALSE
                keyUsage = critical, digitalSignature
                extendedKeyUsage = serverAuth
                subjectAltName = DNS:localhost, IP:127.0.0.1
                """.utf8))
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256"]
        try await Self.openssl(
            ["req", "-x509"] + key + [
                "-days", "2", "-keyout", tls + "/ca.key", "-out", caPath, "-subj", "/O=Countersign tests/CN=Countersign test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try await Self.openssl(["req"] + key + ["-keyout", privateKeyPath, "-out", tls + "/cert.csr", "-subj", "/CN=localhost"])
        try await Self.openssl([
            "x509", "-req", "-sha256", "-days", "2", "-in", tls + "/cert.csr", "-CA", caPath, "-CAkey", tls + "/ca.key",
            "-set_serial", "\(UInt64.random(in: 1...(UInt64.max >> 1)))", "-extfile", extensions, "-out", certificatePath,
        ])
    }

    private static func openssl(_ arguments: [String]) async throws {
        let process = try ChildProcess("/usr/bin/openssl", arguments)
        guard try await process.exitStatus() == 0 else { throw Failed(output: process.output) }
    }

    struct Failed: Error { var output: [String] }
}
