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
}
