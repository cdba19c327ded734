import Foundation
import Testing

@testable import CountersignConfig

/// An `[ldap.upstream]` table with just a URL.
private func upstream(_ url: String = "ldap://127.0.0.1:389") -> String {
    "[ldap.upstream]\nurl = \"\(url)\"\n"
}

@Suite("LDAP and primary: defaults and values")
struct LDAPAndPrimaryValueTests {
    @Test func absentSectionsGetDefaults() throws {
        let config = try parse(minimalClient)
        #expect(config.ldap.listen == nil)
        #expect(config.ldap.ldapsListen == nil)
        #expect(config.ldap.isEnabled == false)
        #expect(config.ldap.certificatePath == nil)
        #expect(config.ldap.privateKeyPath == nil)
        #expect(config.ldap.usernameAttribute == "uid")
        #expect(config.ldap.exempt.isEmpty)
        #expect(config.ldap.allowAnonymous == false)
        #expect(config.ldap.idleTimeoutSeconds == 300)
        #expect(config.ldap.maximumMessageSize == 1_048_576)
        #expect(config.ldap.clientFailureRate == 20)
        #expect(config.ldap.clientFailureBurst == 100)
        #expect(config.ldap.maxConnections == 1024)
        #expect(config.ldap.upstream.url == nil)
        #expect(config.ldap.upstream.host == nil)
        #expect(config.ldap.upstream.port == nil)
        #expect(config.ldap.upstream.usesTLS == false)
        #expect(config.ldap.upstream.startTLS == false)
        #expect(config.ldap.upstream.caPath == nil)
        #expect(config.ldap.upstream.verifyCertificate)
        #expect(config.ldap.upstream.timeoutSeconds == 10)
        #expect(config.primary.source == .local)
        #expect(config.primary.bindDNTemplate == nil)
        #expect(config.primary.searchBase == nil)
        #expect(config.primary.searchAttribute == "uid")
        #expect(config.primary.serviceDN == nil)
        #expect(config.primary.servicePassword == nil)
        #expect(config.ldap == LDAPSettings())
        #expect(config.primary == PrimarySettings())
    }

    @Test func emptySectionsGetDefaults() throws {
        let config = try parse("[ldap]\n[ldap.upstream]\n[primary]\n" + minimalClient)
        #expect(config.ldap == LDAPSettings())
        #expect(config.primary == PrimarySettings())
    }

    @Test func everyNewKeySet() throws {
        let config = try parse(minimalClient + """

            [ldap]
            listen = "[::1]:3389"
            ldaps_listen = "0.0.0.0:3636"
            certificate = "/etc/countersign/tls/ldap.crt"
            private_key = "/etc/countersign/tls/ldap.key"
            username_attribute = "sAMAccountName"
            exempt = ["cn=app,ou=services,dc=example,dc=org", "ou=robots,dc=example,dc=org"]
            allow_anonymous = true
            idle_timeout = 86400
            max_message_size = 16777216
            client_failure_rate = 0
            client_failure_burst = 5000
            max_connections = 1000000
            [ldap.upstream]
            url = "ldap://dir.example.org:10389"
            starttls = true
            ca = "/etc/ssl/directory-ca.pem"
            verify_certificate = false
            timeout = 300
            [primary]
            source = "ldap"
            bind_dn_template = "uid={user},ou=people,dc=example,dc=org"
            search_attribute = "mail"
            """)
        #expect(config.ldap.listen == ListenAddress(host: "::1", port: 3389))
        #expect(config.ldap.ldapsListen == ListenAddress(host: "0.0.0.0", port: 3636))
        #expect(config.ldap.isEnabled)
        #expect(config.ldap.certificatePath == "/etc/countersign/tls/ldap.crt")
        #expect(config.ldap.privateKeyPath == "/etc/countersign/tls/ldap.key")
        #expect(config.ldap.usernameAttribute == "sAMAccountName")
        #expect(config.ldap.exempt == ["cn=app,ou=services,dc=example,dc=org", "ou=robots,dc=example,dc=org"])
        #expect(config.ldap.allowAnonymous)
        #expect(config.ldap.idleTimeoutSeconds == 86400)
        #expect(config.ldap.maximumMessageSize == 16_777_216)
        #expect(config.ldap.clientFailureRate == 0)
        #expect(config.ldap.clientFailureBurst == 5000)
        #expect(config.ldap.maxConnections == 1_000_000)
        #expect(config.ldap.upstream.url == "ldap://dir.example.org:10389")
        #expect(config.ldap.upstream.host == "dir.example.org")
        #expect(config.ldap.upstream.port == 10389)
        #expect(config.ldap.upstream.usesTLS == false)
        #expect(config.ldap.upstream.startTLS)
        #expect(config.ldap.upstream.caPath == "/etc/ssl/directory-ca.pem")
        #expect(config.ldap.upstream.verifyCertificate == false)
        #expect(config.ldap.upstream.timeoutSeconds == 300)
        #expect(config.primary.source == .ldap)
        #expect(config.primary.bindDNTemplate == "uid={user},ou=people,dc=example,dc=org")
        #expect(config.primary.searchAttribute == "mail")
        #expect(config.primary.searchBase == nil)
    }

    @Test func searchModeKeysSet() throws {
        let config = try parse(minimalClient + "\n" + upstream("ldaps://dir.example.org") + """
            [primary]
            source = "ldap"
            search_base = "ou=people,dc=example,dc=org"
            search_attribute = "uid"
            service_dn = "cn=countersign,ou=services,dc=example,dc=org"
            service_password = "s3rvice-pa55"
            """)
        #expect(config.primary == PrimarySettings(
            source: .ldap, searchBase: "ou=people,dc=example,dc=org", searchAttribute: "uid",
            serviceDN: "cn=countersign,ou=services,dc=example,dc=org", servicePassword: "s3rvice-pa55"))
        // The proxy stays off: primary.source = "ldap" only needs the upstream.
        #expect(config.ldap.isEnabled == false)
        #expect(config.ldap.upstream.usesTLS)
        #expect(config.ldap.upstream.port == 636)
    }

    @Test func lowerBoundsAccepted() throws {
        let config = try parse(minimalClient + "\n" + """
            [ldap]
            idle_timeout = 1
            max_message_size = 1024
            exempt = []
            client_failure_rate = 0
            client_failure_burst = 0
            max_connections = 1
            [ldap.upstream]
            timeout = 1
            """)
        #expect(config.ldap.idleTimeoutSeconds == 1)
        #expect(config.ldap.maximumMessageSize == 1024)
        #expect(config.ldap.clientFailureRate == 0 && config.ldap.clientFailureBurst == 0)
        #expect(config.ldap.maxConnections == 1)
        #expect(config.ldap.upstream.timeoutSeconds == 1)
    }

    /// Plain LDAP only, no certificate: no StartTLS, but valid.
    @Test func plainListenWithoutCertificate() throws {
        let config = try parse("[ldap]\nlisten = \"127.0.0.1:0\"\n" + upstream() + minimalClient)
        #expect(config.ldap.isEnabled)
        #expect(config.ldap.ldapsListen == nil)
        #expect(config.ldap.certificatePath == nil)
    }

    @Test func ldapsOnlyWithCertificate() throws {
        let config = try parse(minimalClient + "\n" + """
            [ldap]
            ldaps_listen = "127.0.0.1:636"
            certificate = "ldap.crt"
            private_key = "ldap.key"
            """ + "\n" + upstream())
        #expect(config.ldap.isEnabled)
        #expect(config.ldap.listen == nil)
    }

    /// Port 0 picks a free port, so both listeners may ask for it.
    @Test func bothListenersOnPortZero() throws {
        let config = try parse(minimalClient + "\n" + """
            [ldap]
            listen = "127.0.0.1:0"
            ldaps_listen = "127.0.0.1:0"
            certificate = "ldap.crt"
            private_key = "ldap.key"
            """ + "\n" + upstream())
        #expect(config.ldap.listen == config.ldap.ldapsListen)
    }

    @Test(arguments: [
        ("ldap://127.0.0.1:389", "127.0.0.1", 389, false),
        ("ldap://127.0.0.1", "127.0.0.1", 389, false),
        ("ldaps://dir.example.org", "dir.example.org", 636, true),
        ("LDAPS://Dir.Example.org:3269/", "Dir.Example.org", 3269, true),
        ("ldap://[::1]", "::1", 389, false),
        ("ldaps://[2001:db8::1]:10636", "2001:db8::1", 10636, true),
        ("ldap://ldap_1.internal:1", "ldap_1.internal", 1, false),
        ("ldap://localhost:65535", "localhost", 65535, false),
    ])
    func upstreamURLParts(url: String, host: String, port: Int, usesTLS: Bool) throws {
        let config = try parse(upstream(url) + minimalClient)
        #expect(config.ldap.upstream.url == url)
        #expect(config.ldap.upstream.host == host)
        #expect(config.ldap.upstream.port == port)
        #expect(config.ldap.upstream.usesTLS == usesTLS)
    }

    @Test func parsedEqualsConfigurationBuiltInCode() throws {
        let built = CountersignConfiguration(
            store: StoreSettings(path: "/etc/countersign/countersign.db"),
            radius: RADIUSSettings(clients: [
                RADIUSClientSettings(name: "nas", network: try #require(IPNetwork("10.0.0.0/8")), secret: "s3cret")
            ]),
            mfa: MFASettings(), totp: TOTPSettings(), log: LogSettings(),
            ldap: LDAPSettings(
                listen: ListenAddress(host: "127.0.0.1", port: 389),
                certificatePath: "/etc/countersign/ldap.crt", privateKeyPath: "/etc/countersign/ldap.key",
                upstream: LDAPUpstreamSettings(url: "ldap://127.0.0.1:10389", startTLS: true),
                exempt: ["cn=app,ou=services,dc=example,dc=org"]),
            primary: PrimarySettings(source: .ldap, bindDNTemplate: "uid={user},ou=people,dc=example,dc=org"))
        let parsed = try parse(minimalClient + """

            [ldap]
            listen = "127.0.0.1:389"
            certificate = "ldap.crt"
            private_key = "ldap.key"
            exempt = ["cn=app,ou=services,dc=example,dc=org"]
            [ldap.upstream]
            url = "ldap://127.0.0.1:10389"
            starttls = true
            [primary]
            source = "ldap"
            bind_dn_template = "uid={user},ou=people,dc=example,dc=org"
            """)
        #expect(parsed == built)
        try built.validate()
    }
}

@Suite("LDAP paths")
struct LDAPPathTests {
    static let tls = """
        [ldap]
        ldaps_listen = "127.0.0.1:636"
        certificate = "tls/ldap.crt"
        private_key = "../secrets/./ldap.key"
        [ldap.upstream]
        url = "ldaps://dir.example.org"
        ca = "ca/directory.pem"

        """

    @Test func relativePathsResolveAgainstBaseDirectory() throws {
        let config = try parse(Self.tls + minimalClient, base: "/srv/countersign/conf")
        #expect(config.ldap.certificatePath == "/srv/countersign/conf/tls/ldap.crt")
        #expect(config.ldap.privateKeyPath == "/srv/countersign/secrets/ldap.key")
        #expect(config.ldap.upstream.caPath == "/srv/countersign/conf/ca/directory.pem")
    }

    @Test func absolutePathsAreKept() throws {
        let config = try parse(minimalClient + """

            [ldap]
            certificate = "/etc/ssl/ldap.crt"
            private_key = "/etc/ssl/private/ldap.key"
            [ldap.upstream]
            ca = "/etc/ssl/certs/ca.pem"
            """, base: "/srv/conf")
        #expect(config.ldap.certificatePath == "/etc/ssl/ldap.crt")
        #expect(config.ldap.privateKeyPath == "/etc/ssl/private/ldap.key")
        #expect(config.ldap.upstream.caPath == "/etc/ssl/certs/ca.pem")
    }

    @Test func loadResolvesAgainstTheFilesFolder() throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("countersign-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("countersign.toml")
        try (Self.tls + minimalClient).write(to: file, atomically: true, encoding: .utf8)

        let config = try CountersignConfiguration.load(path: file.path)
        let root = folder.standardizedFileURL
        #expect(config.ldap.certificatePath == root.path + "/tls/ldap.crt")
        #expect(config.ldap.privateKeyPath == root.deletingLastPathComponent().path + "/secrets/ldap.key")
        #expect(config.ldap.upstream.caPath == root.path + "/ca/directory.pem")
    }
}

@Suite("LDAP and primary: errors name their key")
struct LDAPAndPrimaryErrorTests {
    // MARK: Unknown keys

    @Test func unknownKeyInLDAP() throws {
        let error = try #require(parseError("[ldap]\nenabled = true\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "ldap.enabled")
        #expect(error.message.contains("`ldaps_listen`"))
        #expect(error.message.contains("`upstream`"))
    }

    @Test func unknownKeyInUpstream() throws {
        let error = try #require(parseError("[ldap.upstream]\nuri = \"ldap://127.0.0.1\"\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "ldap.upstream.uri")
        #expect(error.message.contains("`url`"))
        #expect(error.description.hasPrefix("ldap.upstream.uri: unknown key `ldap.upstream.uri`"))
    }

    @Test func unknownKeyInPrimary() throws {
        let error = try #require(parseError("[primary]\nbase_dn = \"dc=example,dc=org\"\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "primary.base_dn")
        #expect(error.message.contains("`search_base`"))
    }

    @Test func upstreamNotATable() throws {
        let error = try #require(parseError("[ldap]\nupstream = \"ldap://127.0.0.1\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.upstream")
        #expect(error.message == "expected a table, got a string")
    }

    // MARK: [ldap] listeners and TLS

    @Test(arguments: ["listen", "ldaps_listen"])
    func listenAsListIsWrongType(key: String) throws {
        let error = try #require(parseError("[ldap]\n\(key) = [\"127.0.0.1:389\"]\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.\(key)")
    }

    @Test(arguments: ["127.0.0.1", "ldap.example.org:389", "::1:389", "127.0.0.1:ldap", ""])
    func badListen(address: String) throws {
        let error = try #require(parseError("[ldap]\nlisten = \"\(address)\"\n" + upstream() + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.listen")
    }

    @Test func badLDAPSListen() throws {
        let error = try #require(parseError("[ldap]\nldaps_listen = \"example.org:636\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.ldaps_listen")
    }

    @Test func listenPortOutOfRange() throws {
        let error = try #require(parseError("[ldap]\nlisten = \"127.0.0.1:65536\"\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.listen")
    }

    @Test func sameAddressForBothListeners() throws {
        let error = try #require(parseError(minimalClient + "\n" + """
            [ldap]
            listen = "127.0.0.1:389"
            ldaps_listen = "127.0.0.1:389"
            certificate = "ldap.crt"
            private_key = "ldap.key"
            """ + "\n" + upstream()))
        #expect(error.code == .duplicate)
        #expect(error.key == "ldap.ldaps_listen")
    }

    @Test func certificateWithoutPrivateKey() throws {
        let error = try #require(parseError("[ldap]\ncertificate = \"ldap.crt\"\n" + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.private_key")
    }

    @Test func privateKeyWithoutCertificate() throws {
        let error = try #require(parseError("[ldap]\nprivate_key = \"ldap.key\"\n" + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.certificate")
    }

    @Test func ldapsListenWithoutCertificate() throws {
        let error = try #require(parseError("[ldap]\nldaps_listen = \"127.0.0.1:636\"\n" + upstream() + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.certificate")
        #expect(error.message.contains("ldap.ldaps_listen"))
    }

    @Test(arguments: [
        ("certificate = \"\"\nprivate_key = \"ldap.key\"", "ldap.certificate"),
        ("certificate = \"ldap.crt\"\nprivate_key = \"\"", "ldap.private_key"),
    ])
    func emptyTLSPath(lines: String, key: String) throws {
        let error = try #require(parseError("[ldap]\n\(lines)\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == key)
    }

    @Test func certificateWrongType() throws {
        let error = try #require(parseError("[ldap]\ncertificate = true\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.certificate")
    }

    // MARK: [ldap] other keys

    @Test(arguments: ["", "u id", "uid;binary", "1uid", "-uid", "uïd", "(uid)", "uid=x", "2.5.4.3"])
    func badUsernameAttribute(name: String) throws {
        let error = try #require(parseError("[ldap]\nusername_attribute = \"\(name)\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.username_attribute")
    }

    @Test(arguments: ["cn", "sAMAccountName", "x-user-id2"])
    func goodUsernameAttribute(name: String) throws {
        let config = try parse("[ldap]\nusername_attribute = \"\(name)\"\n" + minimalClient)
        #expect(config.ldap.usernameAttribute == name)
    }

    @Test(arguments: ["", "  "])
    func emptyExemptEntry(entry: String) throws {
        let error = try #require(parseError(
            "[ldap]\nexempt = [\"cn=app,dc=example,dc=org\", \"\(entry)\"]\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.exempt[1]")
    }

    @Test func exemptWrongTypes() throws {
        let notArray = try #require(parseError("[ldap]\nexempt = \"cn=app,dc=example,dc=org\"\n" + minimalClient))
        #expect(notArray.code == .wrongType)
        #expect(notArray.key == "ldap.exempt")
        let notString = try #require(parseError("[ldap]\nexempt = [\"cn=app,dc=example,dc=org\", 1]\n" + minimalClient))
        #expect(notString.code == .wrongType)
        #expect(notString.key == "ldap.exempt[1]")
    }

    @Test func allowAnonymousWrongType() throws {
        let error = try #require(parseError("[ldap]\nallow_anonymous = \"no\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.allow_anonymous")
    }

    @Test(arguments: [0, 86401, -1])
    func idleTimeoutOutOfRange(seconds: Int) throws {
        let error = try #require(parseError("[ldap]\nidle_timeout = \(seconds)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.idle_timeout")
        #expect(error.message == "must be between 1 and 86400, got \(seconds)")
    }

    @Test(arguments: [1023, 16_777_217, 0])
    func maxMessageSizeOutOfRange(size: Int) throws {
        let error = try #require(parseError("[ldap]\nmax_message_size = \(size)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.max_message_size")
    }

    @Test(arguments: [
        ("client_failure_rate", -1, "0 and 1000000"), ("client_failure_rate", 1_000_001, "0 and 1000000"),
        ("client_failure_burst", -1, "0 and 1000000"), ("client_failure_burst", 1_000_001, "0 and 1000000"),
        ("max_connections", 0, "1 and 1000000"), ("max_connections", 1_000_001, "1 and 1000000"),
    ])
    func admissionLimitOutOfRange(key: String, value: Int, range: String) throws {
        let error = try #require(parseError("[ldap]\n\(key) = \(value)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.\(key)")
        #expect(error.message == "must be between \(range), got \(value)")
    }

    @Test func clientFailureLimitWrongType() throws {
        let error = try #require(parseError("[ldap]\nclient_failure_rate = \"20\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.client_failure_rate")
    }

    // MARK: [ldap.upstream]

    @Test(arguments: [
        "http://dir.example.org", "dir.example.org", "dir.example.org:389", "ldap://", "ldap:///dc=example,dc=org",
        "ldap://dir.example.org/dc=example,dc=org", "ldap://dir.example.org?uid", "ldap://dir.example.org#x",
        "ldap://admin@dir.example.org", "ldap://dir.example.org:abc", "ldap://dir.example.org:", "ldap://::1:389",
        "ldap://[dir.example.org]:389", "ldap://[::1]389", "ldap://[::1", "ldap://dir example.org", "ldapi://%2Frun",
        "", "ldap://dir.example.org:99999999999999999999",
    ])
    func badUpstreamURL(url: String) throws {
        let error = try #require(parseError(upstream(url) + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.upstream.url")
    }

    @Test(arguments: ["ldap://127.0.0.1:0", "ldaps://dir.example.org:65536", "ldap://[::1]:70000"])
    func upstreamPortOutOfRange(url: String) throws {
        let error = try #require(parseError(upstream(url) + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.upstream.url")
        #expect(error.message.hasPrefix("port must be between 1 and 65535"))
    }

    @Test(arguments: ["ldaps://dir.example.org", "LDAPS://dir.example.org:636"])
    func startTLSWithLDAPS(url: String) throws {
        let error = try #require(parseError(upstream(url) + "starttls = true\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.upstream.starttls")
    }

    @Test(arguments: [0, 301])
    func upstreamTimeoutOutOfRange(seconds: Int) throws {
        let error = try #require(parseError("[ldap.upstream]\ntimeout = \(seconds)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "ldap.upstream.timeout")
    }

    @Test func emptyCA() throws {
        let error = try #require(parseError("[ldap.upstream]\nca = \"\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "ldap.upstream.ca")
    }

    @Test func verifyCertificateWrongType() throws {
        let error = try #require(parseError("[ldap.upstream]\nverify_certificate = 1\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "ldap.upstream.verify_certificate")
    }

    @Test func listenWithoutUpstreamURL() throws {
        let error = try #require(parseError("[ldap]\nlisten = \"127.0.0.1:389\"\n" + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.upstream.url")
        #expect(error.message.contains("ldap.listen"))
    }

    @Test func ldapsListenWithoutUpstreamURL() throws {
        let error = try #require(parseError(
            "[ldap]\nldaps_listen = \"127.0.0.1:636\"\ncertificate = \"c.pem\"\nprivate_key = \"k.pem\"\n"
                + "[ldap.upstream]\nstarttls = true\n" + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.upstream.url")
    }

    // MARK: [primary]

    @Test func badSource() throws {
        let error = try #require(parseError("[primary]\nsource = \"kerberos\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "primary.source")
        #expect(error.message == #"expected one of "local", "ldap", "radius", got "kerberos""#)
    }

    @Test func ldapSourceWithoutUpstreamURL() throws {
        let error = try #require(parseError(
            "[primary]\nsource = \"ldap\"\nbind_dn_template = \"uid={user},dc=example,dc=org\"\n" + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "ldap.upstream.url")
        #expect(error.message.contains("primary.source"))
    }

    @Test func ldapSourceWithoutBindSettings() throws {
        let error = try #require(parseError("[primary]\nsource = \"ldap\"\n" + upstream() + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == "primary.bind_dn_template")
        #expect(error.message.contains("search_base"))
    }

    @Test(arguments: ["uid=%s,ou=people,dc=example,dc=org", "uid={username},dc=example,dc=org", "", "{USER}"])
    func templateWithoutPlaceholder(template: String) throws {
        let error = try #require(parseError(
            "[primary]\nsource = \"ldap\"\nbind_dn_template = \"\(template)\"\n" + upstream() + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "primary.bind_dn_template")
        #expect(error.message.contains("{user}"))
    }

    /// Format rules hold even while the source is local, so switching to "ldap" later cannot surprise.
    @Test func templateWithoutPlaceholderWhileLocal() throws {
        let error = try #require(parseError("[primary]\nbind_dn_template = \"uid=x\"\n" + minimalClient))
        #expect(error.key == "primary.bind_dn_template")
    }

    @Test(arguments: ["search_base", "service_dn", "service_password"])
    func templateTogetherWithSearchSettings(key: String) throws {
        for source in ["ldap", "local"] {
            let error = try #require(parseError("""
                [primary]
                source = "\(source)"
                bind_dn_template = "uid={user},ou=people,dc=example,dc=org"
                \(key) = "value-\(key)"

                """ + upstream() + minimalClient))
            #expect(error.code == .invalidValue)
            #expect(error.key == "primary.bind_dn_template")
            #expect(error.message.contains("primary.\(key)"))
            #expect(!error.description.contains("value-service_password"))
        }
    }

    @Test(arguments: [
        (["search_base"], "primary.service_dn"),
        (["search_base", "service_dn"], "primary.service_password"),
        (["service_dn", "service_password"], "primary.search_base"),
        (["service_password"], "primary.search_base"),
        (["search_base", "service_password"], "primary.service_dn"),
    ])
    func incompleteSearchSettings(given: [String], missing: String) throws {
        let lines = given.map { "\($0) = \"value-\($0)\"" }.joined(separator: "\n")
        let error = try #require(parseError(
            "[primary]\nsource = \"ldap\"\n\(lines)\n" + upstream() + minimalClient))
        #expect(error.code == .missingKey)
        #expect(error.key == missing)
        #expect(!error.description.contains("value-service_password"))
    }

    @Test func incompleteSearchSettingsWhileLocalAreAccepted() throws {
        let config = try parse("[primary]\nsearch_base = \"ou=people,dc=example,dc=org\"\n" + minimalClient)
        #expect(config.primary.source == .local)
        #expect(config.primary.searchBase == "ou=people,dc=example,dc=org")
    }

    @Test(arguments: ["search_base", "service_dn", "service_password"])
    func emptySearchSetting(key: String) throws {
        var values = [
            "search_base": "ou=people,dc=example,dc=org", "service_dn": "cn=cs,dc=example,dc=org",
            "service_password": "pw",
        ]
        values[key] = ""
        let lines = values.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }.joined(separator: "\n")
        let error = try #require(parseError(
            "[primary]\nsource = \"ldap\"\n\(lines)\n" + upstream() + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "primary.\(key)")
    }

    @Test(arguments: ["", "u id", "uid)(objectClass=*", "*"])
    func badSearchAttribute(name: String) throws {
        let error = try #require(parseError("[primary]\nsearch_attribute = \"\(name)\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "primary.search_attribute")
    }

    @Test func servicePasswordWrongType() throws {
        let error = try #require(parseError("[primary]\nservice_password = 1234\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "primary.service_password")
        #expect(!error.description.contains("1234"))
    }

    // MARK: Built in code

    @Test func validateCatchesCodeBuiltMistakes() throws {
        let valid = try parse(minimalClient)
        func key(_ change: (inout CountersignConfiguration) -> Void) -> String? {
            var config = valid
            change(&config)
            do {
                try config.validate()
                return nil
            } catch {
                return error.key
            }
        }
        let url = LDAPUpstreamSettings(url: "ldap://127.0.0.1")
        #expect(key { $0.ldap.upstream = url } == nil)
        #expect(key { $0.ldap.listen = ListenAddress(host: "127.0.0.1", port: 389) } == "ldap.upstream.url")
        #expect(key { $0.ldap.listen = ListenAddress(host: "ldap.example.org", port: 389) } == "ldap.listen")
        #expect(key { $0.ldap.ldapsListen = ListenAddress(host: "127.0.0.1", port: 70000) } == "ldap.ldaps_listen")
        #expect(key { $0.ldap.ldapsListen = ListenAddress(host: "127.0.0.1", port: 636) } == "ldap.certificate")
        #expect(key { $0.ldap.certificatePath = "/c.pem" } == "ldap.private_key")
        #expect(key { $0.ldap.usernameAttribute = "" } == "ldap.username_attribute")
        #expect(key { $0.ldap.exempt = [""] } == "ldap.exempt[0]")
        #expect(key { $0.ldap.idleTimeoutSeconds = 0 } == "ldap.idle_timeout")
        #expect(key { $0.ldap.maximumMessageSize = 1 } == "ldap.max_message_size")
        #expect(key { $0.ldap.clientFailureRate = -1 } == "ldap.client_failure_rate")
        #expect(key { $0.ldap.clientFailureBurst = 1_000_001 } == "ldap.client_failure_burst")
        #expect(key { $0.ldap.maxConnections = 0 } == "ldap.max_connections")
        #expect(key { $0.ldap.upstream.url = "ldap://" } == "ldap.upstream.url")
        #expect(key { $0.ldap.upstream = LDAPUpstreamSettings(url: "ldaps://h", startTLS: true) } == "ldap.upstream.starttls")
        #expect(key { $0.ldap.upstream.timeoutSeconds = 301 } == "ldap.upstream.timeout")
        #expect(key { $0.primary.source = .ldap } == "ldap.upstream.url")
        #expect(key { $0.ldap.upstream = url; $0.primary.source = .ldap } == "primary.bind_dn_template")
        #expect(key {
            $0.ldap.upstream = url
            $0.primary = PrimarySettings(source: .ldap, bindDNTemplate: "uid={user},dc=example,dc=org")
        } == nil)
        #expect(key { $0.primary.searchAttribute = "a b" } == "primary.search_attribute")
    }

    @Test func upstreamPartsOfInvalidURLAreNil() {
        let upstream = LDAPUpstreamSettings(url: "http://dir.example.org")
        #expect(upstream.host == nil)
        #expect(upstream.port == nil)
        #expect(upstream.usesTLS == false)
    }
}
