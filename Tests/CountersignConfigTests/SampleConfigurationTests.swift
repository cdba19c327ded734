import Foundation
import Testing

@testable import CountersignConfig

/// The shipped conf/countersign.toml must load and serve out of the box on localhost.
@Suite("Sample configuration")
struct SampleConfigurationTests {
    /// Tests/CountersignConfigTests/<file> → ../../conf/countersign.toml
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .standardizedFileURL
    static let samplePath = repositoryRoot.appendingPathComponent("conf/countersign.toml").path

    @Test func sampleLoads() throws {
        let config = try CountersignConfiguration.load(path: Self.samplePath)
        let root = Self.repositoryRoot.path

        #expect(config.store.path == root + "/data/countersign.db")
        #expect(config.store.keyPath == root + "/data/countersign.db.key")
        #expect(config.radius.listen == [
            ListenAddress(host: "127.0.0.1", port: 1812), ListenAddress(host: "::1", port: 1812),
        ])
        #expect(config.radius.delimiter == ",")
        #expect(config.radius.duplicateWindowSeconds == 30)
        #expect(config.radius.clientFailureRate == RADIUSSettings.defaultClientFailureRate)
        #expect(config.radius.clientFailureBurst == RADIUSSettings.defaultClientFailureBurst)

        #expect(config.radius.clients.count == 2)
        let v4 = try #require(config.radius.clients.first)
        #expect(v4.name == "localhost")
        #expect(v4.network == IPNetwork("127.0.0.1/32"))
        #expect(v4.secret == "testing123")
        #expect(v4.requireMessageAuthenticator)
        #expect(v4.mode == .auto)
        let v6 = try #require(config.radius.clients.last)
        #expect(v6.network == IPNetwork("::1/128"))
        #expect(v6.secret == "testing123")
        #expect(v6.requireMessageAuthenticator)
        #expect(v6.mode == .auto)

        #expect(config.mfa.unenrolled == .deny)
        #expect(config.totp.driftSteps == 1)
        #expect(config.totp.issuer == "Countersign")
        #expect(config.log.level == .info)
        #expect(config.log.format == .text)

        #expect(config.http.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(config.http.publicURL == "http://127.0.0.1:8080")
        // The sample only shows a commented-out resource: no API key ships active.
        #expect(config.http.resources.isEmpty)
        #expect(config.push.timeoutSeconds == 45)
        #expect(config.push.fallback == .totpChallenge)
        #expect(config.push.limit.enabled)
        #expect(config.push.limit.maxConcurrent == 1)
        #expect(config.push.limit.windowSeconds == 60)
        #expect(config.push.limit.exempt == ["radius", "ldap"])
        // Every value written out in the sample is the default.
        #expect(config.http == HTTPSettings())
        #expect(config.push == PushSettings())

        // The LDAP proxy and LDAP passwords are only shown commented out: off, local passwords.
        #expect(config.ldap.isEnabled == false)
        #expect(config.ldap.listen == nil)
        #expect(config.ldap.ldapsListen == nil)
        #expect(config.ldap.upstream.url == nil)
        #expect(config.ldap.allowAnonymous == false)
        #expect(config.primary.source == .local)
        #expect(config.ldap == LDAPSettings())
        #expect(config.primary == PrimarySettings())
    }

    /// Every key the model reads is written in the sample (set, or commented out) under its own table.
    @Test func everyKeyIsDocumented() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        var keys: [String: Set<String>] = [:]
        var table = ""
        for line in text.split(separator: "\n") {
            var line = Substring(line)
            while line.hasPrefix("# ") { line = line.dropFirst(2) }
            if line.hasPrefix("[") {
                table = line.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            } else if let equals = line.range(of: " = "), line[..<equals.lowerBound].allSatisfy({ $0.isLetter || $0 == "_" }) {
                keys[table, default: []].insert(String(line[..<equals.lowerBound]))
            }
        }
        let tables: [(String, [String])] = [
            (StoreSettings.tableName, StoreSettings.allowedKeys), (RADIUSSettings.tableName, RADIUSSettings.allowedKeys),
            ("radius.clients", RADIUSClientSettings.allowedKeys), ("radius.reply", RADIUSReplyRule.allowedKeys),
            ("radius.tls", RADIUSTLSSettings.allowedKeys),
            (MFASettings.tableName, MFASettings.allowedKeys),
            (LockoutSettings.tableName, LockoutSettings.allowedKeys), (TOTPSettings.tableName, TOTPSettings.allowedKeys),
            (LogSettings.tableName, LogSettings.allowedKeys), (HTTPSettings.tableName, HTTPSettings.allowedKeys),
            ("http.resources", AuthAPIResource.allowedKeys), (PushSettings.tableName, PushSettings.allowedKeys),
            ("push.limit", PushLimitSettings.allowedKeys), ("push.notify", PushWebhook.allowedKeys),
            (LDAPSettings.tableName, LDAPSettings.allowedKeys),
            ("ldap.upstream", LDAPUpstreamSettings.allowedKeys), (PrimarySettings.tableName, PrimarySettings.allowedKeys),
            ("primary.radius", UpstreamRADIUSSettings.allowedKeys),
        ]
        for (name, allowed) in tables {
            // Nested tables are documented under their own header.
            let nested = Set(tables.map(\.0).filter { $0.hasPrefix(name + ".") }.map { String($0.dropFirst(name.count + 1)) })
            for key in allowed where !nested.contains(key) {
                #expect(keys[name]?.contains(key) == true, "\(name).\(key) is not in conf/countersign.toml")
            }
        }
    }

    /// The commented-out HTTPS lines of `[http]` must be valid once uncommented.
    @Test func commentedHTTPSExampleIsValid() throws {
        var text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        for line in ["certificate = \"tls/http.crt\"", "private_key = \"tls/http.key\""] {
            let commented = try #require(text.range(of: "\n# " + line + "\n"))
            text.replaceSubrange(commented, with: "\n" + line + "\n")
        }
        let config = try CountersignConfiguration.parse(toml: text, baseDirectory: "/etc/countersign")
        #expect(config.http.certificatePath == "/etc/countersign/tls/http.crt")
        #expect(config.http.privateKeyPath == "/etc/countersign/tls/http.key")
        #expect(config.http.servesTLS)
    }

    /// The commented-out `[[http.resources]]` example must be valid once uncommented.
    @Test func commentedResourceExampleIsValid() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "# [[http.resources]]" })
        let block = lines[start...].prefix { $0.hasPrefix("# ") }
            .map { $0.dropFirst(2) }
            .filter { !$0.hasPrefix("# ") }
            .joined(separator: "\n")
        let config = try CountersignConfiguration.parse(toml: text + "\n" + block, baseDirectory: "/")
        #expect(config.http.resources.map(\.name) == ["portal"])
    }

    /// The lines of a commented-out block: from `# <header>` to the first line that is not `# …`.
    static func commentedBlock(_ header: String, in text: String) throws -> [Substring] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0 == "# \(header)" })
        return Array(lines[start...].prefix { $0.hasPrefix("# ") })
    }

    /// Uncomments `# key = value` lines; explanations (`# # …`) stay comments.
    static func uncommented(_ block: [Substring]) -> String {
        block.map { $0.hasPrefix("# # ") ? String($0) : String($0.dropFirst(2)) }.joined(separator: "\n")
    }

    /// The commented-out `[ldap]`, `[ldap.upstream]` and `[primary]` examples (a slapd on 127.0.0.1 in bind mode)
    /// must be valid once uncommented.
    @Test func commentedLDAPExampleIsValid() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let blocks = try ["[ldap]", "[ldap.upstream]", "[primary]"].map { header throws in
            Self.uncommented(try Self.commentedBlock(header, in: text))
        }
        let config = try CountersignConfiguration.parse(
            toml: text + "\n" + blocks.joined(separator: "\n"), baseDirectory: "/etc/countersign")
        #expect(config.ldap.isEnabled)
        #expect(config.ldap.listen == ListenAddress(host: "127.0.0.1", port: 389))
        #expect(config.ldap.ldapsListen == ListenAddress(host: "127.0.0.1", port: 636))
        #expect(config.ldap.certificatePath == "/etc/countersign/tls/ldap.crt")
        #expect(config.ldap.privateKeyPath == "/etc/countersign/tls/ldap.key")
        #expect(config.ldap.exempt == ["cn=app,ou=services,dc=example,dc=org"])
        #expect(config.ldap.allowAnonymous == false)
        #expect(config.ldap.upstream.url == "ldap://127.0.0.1:389")
        #expect(config.ldap.upstream.host == "127.0.0.1")
        #expect(config.ldap.upstream.port == 389)
        #expect(config.ldap.upstream.caPath == "/etc/countersign/tls/directory-ca.pem")
        #expect(config.primary.source == .ldap)
        #expect(config.primary.bindDNTemplate == "uid={user},ou=people,dc=example,dc=org")
        #expect(config.primary.searchBase == nil)
        // Every other value written in the examples is the default.
        var defaults = config.ldap
        defaults.listen = nil
        defaults.ldapsListen = nil
        defaults.certificatePath = nil
        defaults.privateKeyPath = nil
        defaults.exempt = []
        defaults.upstream.url = nil
        defaults.upstream.caPath = nil
        #expect(defaults == LDAPSettings())
    }

    /// Every `[ldap]` key is shown, with its explanation, in the commented-out example.
    @Test func commentedLDAPExampleShowsEveryKey() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let block = try Self.commentedBlock("[ldap]", in: text)
        for key in LDAPSettings.allowedKeys where key != LDAPUpstreamSettings.tableName {
            #expect(block.contains { $0.hasPrefix("# \(key) = ") }, "ldap.\(key) is missing from the sample")
        }
        #expect(text.contains("# [ldap.upstream]"))
    }

    /// The search-mode alternative in `[primary]`, used instead of the template, must be valid too.
    @Test func commentedSearchModeExampleIsValid() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let upstream = Self.uncommented(try Self.commentedBlock("[ldap.upstream]", in: text))
        let primary = try Self.commentedBlock("[primary]", in: text)
            .filter { !$0.hasPrefix("# bind_dn_template") }
            .map { line in
                let searchKeys = ["search_base", "search_attribute", "service_dn", "service_password"]
                return searchKeys.contains { line.hasPrefix("# # \($0) = ") } ? line.dropFirst(2) : line
            }
        let config = try CountersignConfiguration.parse(
            toml: text + "\n" + upstream + "\n" + Self.uncommented(primary), baseDirectory: "/etc/countersign")
        #expect(config.ldap.isEnabled == false)
        #expect(config.primary == PrimarySettings(
            source: .ldap, searchBase: "ou=people,dc=example,dc=org", searchAttribute: "uid",
            serviceDN: "cn=countersign,ou=services,dc=example,dc=org", servicePassword: "change-me"))
    }

    /// The commented-out upstream RADIUS alternative of `[primary]` must be valid once uncommented.
    @Test func commentedUpstreamRADIUSExampleIsValid() throws {
        let text = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let source = try #require(lines.firstIndex { $0 == "# source = \"radius\"" })
        let block = Array(lines[(source - 1)...].prefix { $0.hasPrefix("# ") })
        let config = try CountersignConfiguration.parse(toml: text + "\n" + Self.uncommented(block), baseDirectory: "/etc/countersign")
        #expect(config.primary == PrimarySettings(
            source: .radius, radius: [UpstreamRADIUSSettings(host: "192.0.2.10", port: 1812, secret: "change-me")],
            passThrough: .named(["Class", "Filter-Id"])))
    }
}
