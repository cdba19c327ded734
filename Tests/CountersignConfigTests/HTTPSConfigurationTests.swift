import Testing

@testable import CountersignConfig

@Suite("HTTP: certificate and private key")
struct HTTPSConfigurationTests {
    @Test func withoutCertificateTheListenerIsPlain() throws {
        let config = try parse(minimalClient)
        #expect(config.http.certificatePath == nil)
        #expect(config.http.privateKeyPath == nil)
        #expect(!config.http.servesTLS)
    }

    @Test func relativePathsAreResolvedAgainstTheConfigFolder() throws {
        let config = try parse(
            "[http]\ncertificate = \"tls/http.crt\"\nprivate_key = \"../secrets/./http.key\"\n" + minimalClient,
            base: "/srv/countersign/conf")
        #expect(config.http.certificatePath == "/srv/countersign/conf/tls/http.crt")
        #expect(config.http.privateKeyPath == "/srv/countersign/secrets/http.key")
        #expect(config.http.servesTLS)
    }

    @Test func absolutePathsAreKept() throws {
        let config = try parse("[http]\ncertificate = \"/etc/ssl/mfa.crt\"\nprivate_key = \"/etc/ssl/private/mfa.key\"\n" + minimalClient)
        #expect(config.http == HTTPSettings(certificatePath: "/etc/ssl/mfa.crt", privateKeyPath: "/etc/ssl/private/mfa.key"))
    }

    /// Both or neither, neither empty: the error names the key to fix.
    @Test(arguments: [
        ("certificate = \"http.crt\"", ConfigurationError.Code.missingKey, "http.private_key"),
        ("private_key = \"http.key\"", .missingKey, "http.certificate"),
        ("certificate = \"\"\nprivate_key = \"http.key\"", .invalidValue, "http.certificate"),
        ("certificate = \"http.crt\"\nprivate_key = \"\"", .invalidValue, "http.private_key"),
        ("certificate = \"http.crt\"\nprivate_key = 1", .wrongType, "http.private_key"),
    ])
    func aBadPairNamesItsKey(lines: String, code: ConfigurationError.Code, key: String) throws {
        let error = try #require(parseError("[http]\n\(lines)\n" + minimalClient))
        #expect(error.code == code)
        #expect(error.key == key)
    }

    @Test func validateCatchesAHalfPairBuiltInCode() throws {
        var config = try parse(minimalClient)
        config.http.certificatePath = "/c.pem"
        let error = #expect(throws: ConfigurationError.self) { try config.validate() }
        #expect(error?.key == "http.private_key")
    }

    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("0.0.0.0", false), ("::", false), ("192.0.2.10", false), ("2001:db8::1", false), ("::ffff:192.0.2.1", false),
        ("128.0.0.1", false),
    ])
    func loopback(host: String, expected: Bool) {
        #expect(ListenAddress(host: host, port: 8080).isLoopback == expected)
    }
}
