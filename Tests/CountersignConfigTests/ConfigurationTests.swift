import Foundation
import Testing

@testable import CountersignConfig

/// The smallest valid document: one client, everything else defaulted.
let minimalClient = """
    [[radius.clients]]
    name = "nas"
    address = "10.0.0.0/8"
    secret = "s3cret"
    """

func parse(_ toml: String, base: String = "/etc/countersign") throws(ConfigurationError) -> CountersignConfiguration {
    try CountersignConfiguration.parse(toml: toml, baseDirectory: base)
}

/// The error `toml` produces; records a failure if it parses.
func parseError(_ toml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    do {
        _ = try parse(toml)
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("Defaults")
struct DefaultsTests {
    @Test func minimalDocumentGetsDefaults() throws {
        let config = try parse(minimalClient)
        #expect(config.store.path == "/etc/countersign/countersign.db")
        #expect(config.store.keyPath == "/etc/countersign/countersign.db.key")
        #expect(config.radius.listen == [ListenAddress(host: "127.0.0.1", port: 1812)])
        #expect(config.radius.delimiter == ",")
        #expect(config.radius.duplicateWindowSeconds == 30)
        #expect(config.radius.clientFailureRate == 20)
        #expect(config.radius.clientFailureBurst == 100)
        #expect(config.radius.maxQueueWait == 3)
        #expect(config.radius.clients.count == 1)
        let client = try #require(config.radius.clients.first)
        #expect(client.name == "nas")
        #expect(client.network == IPNetwork("10.0.0.0/8"))
        #expect(client.secret == "s3cret")
        #expect(client.requireMessageAuthenticator)
        #expect(client.mode == .auto)
        #expect(config.mfa.unenrolled == .deny)
        #expect(config.totp.driftSteps == 1)
        #expect(config.totp.issuer == "Countersign")
        #expect(config.log.level == .info)
        #expect(config.log.format == .text)
    }

    /// `radius.max_queue_wait` in seconds, fractions allowed, within 0.1…60.
    @Test(arguments: [("0.5", 0.5), ("2.25", 2.25), ("3", 3.0), ("60", 60.0)])
    func maxQueueWaitTakesFractionsOfASecond(_ text: String, _ seconds: Double) throws {
        let config = try parse("[radius]\nmax_queue_wait = \(text)\n" + minimalClient)
        #expect(config.radius.maxQueueWait == seconds)
    }

    @Test(arguments: ["0.05", "61", "-1"])
    func maxQueueWaitOutsideItsRangeIsAnError(_ text: String) throws {
        let error = try #require(parseError("[radius]\nmax_queue_wait = \(text)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "radius.max_queue_wait")
    }

    @Test func parsedEqualsConfigurationBuiltInCode() throws {
        let built = CountersignConfiguration(
            store: StoreSettings(path: "/etc/countersign/countersign.db"),
            radius: RADIUSSettings(clients: [
                RADIUSClientSettings(name: "nas", network: try #require(IPNetwork("10.0.0.0/8")), secret: "s3cret")
            ]),
            mfa: MFASettings(), totp: TOTPSettings(), log: LogSettings())
        #expect(try parse(minimalClient) == built)
        try built.validate()
    }

    @Test func everyKeySet() throws {
        let config = try parse("""
            [store]
            path = "db/cs.sqlite"
            key_path = "/secure/cs.key"
            [radius]
            listen = ["0.0.0.0:0", "[::]:1645", "localhost:1812"]
            delimiter = "+"
            duplicate_window = 600
            client_failure_rate = 0
            client_failure_burst = 5000
            [[radius.clients]]
            name = "vpn"
            address = "fd00::/8"
            secret = "x"
            require_message_authenticator = false
            mode = "second-factor-only"
            [[radius.clients]]
            name = "wifi"
            address = "192.168.1.7"
            secret = "y"
            mode = "challenge"
            [mfa]
            unenrolled = "allow"
            [totp]
            drift_steps = 0
            issuer = "Example Corp"
            [log]
            level = "critical"
            format = "json"
            """)
        #expect(config.store.path == "/etc/countersign/db/cs.sqlite")
        #expect(config.store.keyPath == "/secure/cs.key")
        #expect(config.radius.listen.map(\.description) == ["0.0.0.0:0", "[::]:1645", "localhost:1812"])
        #expect(config.radius.listen[1] == ListenAddress(host: "::", port: 1645))
        #expect(config.radius.delimiter == "+")
        #expect(config.radius.duplicateWindowSeconds == 600)
        #expect(config.radius.clientFailureRate == 0)
        #expect(config.radius.clientFailureBurst == 5000)
        #expect(config.radius.clients.map(\.name) == ["vpn", "wifi"])
        #expect(config.radius.clients[0].network.description == "fd00::/8")
        #expect(config.radius.clients[0].requireMessageAuthenticator == false)
        #expect(config.radius.clients[0].mode == .secondFactorOnly)
        #expect(config.radius.clients[1].network.description == "192.168.1.7/32")
        #expect(config.radius.clients[1].mode == .challenge)
        #expect(config.mfa.unenrolled == .allow)
        #expect(config.totp.driftSteps == 0)
        #expect(config.totp.issuer == "Example Corp")
        #expect(config.log.level == .critical)
        #expect(config.log.format == .json)
    }
}

@Suite("Store paths")
struct StorePathTests {
    @Test func relativePathResolvesAgainstBaseDirectory() throws {
        let config = try parse("[store]\npath = \"../data/cs.db\"\n" + minimalClient, base: "/srv/countersign/conf")
        #expect(config.store.path == "/srv/countersign/data/cs.db")
        #expect(config.store.keyPath == "/srv/countersign/data/cs.db.key")
    }

    @Test func absolutePathIsKept() throws {
        let config = try parse("[store]\npath = \"/var/lib/countersign/cs.db\"\n" + minimalClient, base: "/srv/conf")
        #expect(config.store.path == "/var/lib/countersign/cs.db")
        #expect(config.store.keyPath == "/var/lib/countersign/cs.db.key")
    }

    @Test func relativeKeyPathResolvesToo() throws {
        let config = try parse("[store]\nkey_path = \"keys/cs.key\"\n" + minimalClient, base: "/srv/conf")
        #expect(config.store.path == "/srv/conf/countersign.db")
        #expect(config.store.keyPath == "/srv/conf/keys/cs.key")
    }

    @Test func loadResolvesAgainstTheFilesFolder() throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("countersign-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("countersign.toml")
        try ("[store]\npath = \"state/cs.db\"\n" + minimalClient).write(to: file, atomically: true, encoding: .utf8)

        let config = try CountersignConfiguration.load(path: file.path)
        #expect(config.store.path == folder.standardizedFileURL.path + "/state/cs.db")
        #expect(config.store.keyPath == folder.standardizedFileURL.path + "/state/cs.db.key")
    }

    @Test func missingFileIsAnError() throws {
        #expect {
            try CountersignConfiguration.load(path: "/nonexistent/countersign.toml")
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.code == .fileUnreadable && error?.file == "/nonexistent/countersign.toml"
                && error?.description.hasPrefix("/nonexistent/countersign.toml: ") == true
        }
    }
}

@Suite("Errors name their key")
struct ErrorTests {
    @Test func unknownTopLevelKey() throws {
        let error = try #require(parseError("[telemetry]\nenabled = true\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "telemetry")
        #expect(error.message.contains("unknown key `telemetry`"))
    }

    @Test func lockoutSection() throws {
        let config = try CountersignConfiguration.parse(
            toml: "[lockout]\nmax_failures = 3\nwindow = 60\nduration = 120\n" + minimalClient, baseDirectory: "/tmp")
        #expect(config.lockout == LockoutSettings(maxFailures: 3, windowSeconds: 60, durationSeconds: 120))
        #expect(try CountersignConfiguration.parse(toml: minimalClient, baseDirectory: "/tmp").lockout == LockoutSettings())
        #expect(parseError("[lockout]\nmax_failures = 0\n" + minimalClient)?.key == "lockout.max_failures")
        #expect(parseError("[lockout]\nwindw = 5\n" + minimalClient)?.key == "lockout.windw")
    }

    @Test func unknownKeyInSection() throws {
        let error = try #require(parseError("[radius]\nlisen = [\"127.0.0.1:1812\"]\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "radius.lisen")
        #expect(error.description.hasPrefix("radius.lisen: unknown key `radius.lisen`"))
    }

    @Test func unknownKeyInClient() throws {
        let error = try #require(parseError(minimalClient + "\nmod = \"auto\""))
        #expect(error.code == .unknownKey)
        #expect(error.key == "radius.clients[0].mod")
    }

    @Test func unknownTopLevelScalar() throws {
        let error = try #require(parseError("debug = true\n" + minimalClient))
        #expect(error.key == "debug")
        #expect(error.code == .unknownKey)
    }

    @Test func wrongType() throws {
        let error = try #require(parseError("[radius]\nduplicate_window = \"30\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "radius.duplicate_window")
        #expect(error.message == "expected an integer, got a string")
    }

    @Test func wrongTypeInsideArray() throws {
        let error = try #require(parseError("[radius]\nlisten = [\"127.0.0.1:1812\", 1812]\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "radius.listen[1]")
    }

    @Test func sectionThatIsNotATable() throws {
        let error = try #require(parseError("log = \"debug\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "log")
        #expect(error.message == "expected a table, got a string")
    }

    @Test func wrongBoolType() throws {
        let error = try #require(parseError(minimalClient + "\nrequire_message_authenticator = \"yes\""))
        #expect(error.code == .wrongType)
        #expect(error.key == "radius.clients[0].require_message_authenticator")
        #expect(error.message == "expected a boolean, got a string")
    }

    @Test func floatForInteger() throws {
        let error = try #require(parseError("[totp]\ndrift_steps = 1.0\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "totp.drift_steps")
    }

    @Test func badMode() throws {
        let error = try #require(parseError(minimalClient + "\nmode = \"fast\""))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.clients[0].mode")
        #expect(error.description
            == #"radius.clients[0].mode: expected one of "auto", "challenge", "second-factor-only", got "fast""#)
    }

    @Test func badLogLevel() throws {
        let error = try #require(parseError("[log]\nlevel = \"verbose\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "log.level")
    }

    @Test func badUnenrolledPolicy() throws {
        let error = try #require(parseError("[mfa]\nunenrolled = \"maybe\"\n" + minimalClient))
        #expect(error.key == "mfa.unenrolled")
        #expect(error.message == #"expected one of "deny", "allow", got "maybe""#)
    }

    @Test(arguments: ["10.0.0.0/33", "10.0.0", "nas.example.com", "fd00::/129", "10.0.0.0/", "10.0.0.0/+8", ""])
    func badCIDR(address: String) throws {
        let error = try #require(parseError(client(address: address)))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.clients[0].address")
    }

    @Test func hostBitsSet() throws {
        let error = try #require(parseError(client(address: "10.1.2.3/8")))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.clients[0].address")
        #expect(error.message.contains("host bits"))
        #expect(error.message.contains("10.0.0.0/8"))
    }

    @Test func hostBitsSetIPv6() throws {
        let error = try #require(parseError(client(address: "fd00::1/8")))
        #expect(error.key == "radius.clients[0].address")
        #expect(error.message.contains("fd00::/8"))
    }

    @Test func duplicateClientNames() throws {
        let error = try #require(parseError(minimalClient + "\n" + client(name: "nas", address: "192.168.0.0/16")))
        #expect(error.code == .duplicate)
        #expect(error.key == "radius.clients[1].name")
    }

    @Test func duplicateClientNetworks() throws {
        let error = try #require(parseError(minimalClient + "\n" + client(name: "other", address: "10.0.0.0/8")))
        #expect(error.code == .duplicate)
        #expect(error.key == "radius.clients[1].address")
    }

    @Test func missingSecret() throws {
        let error = try #require(parseError("[[radius.clients]]\nname = \"nas\"\naddress = \"10.0.0.1\""))
        #expect(error.code == .missingKey)
        #expect(error.key == "radius.clients[0].secret")
    }

    @Test func emptySecret() throws {
        let error = try #require(parseError(client(secret: "")))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.clients[0].secret")
    }

    @Test func missingName() throws {
        let error = try #require(parseError("[[radius.clients]]\naddress = \"10.0.0.1\"\nsecret = \"s\""))
        #expect(error.code == .missingKey)
        #expect(error.key == "radius.clients[0].name")
    }

    @Test(arguments: ["127.0.0.1", "::1:1812", "[::1]1812", "[127.0.0.1]:1812", "example.com:1812", ":1812",
                      "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:-1"])
    func badListenAddress(address: String) throws {
        let error = try #require(parseError("[radius]\nlisten = [\"127.0.0.1:1812\", \"\(address)\"]\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.listen[1]")
    }

    @Test(arguments: ["127.0.0.1:65536", "[::1]:99999", "127.0.0.1:99999999999999"])
    func portOutOfRange(address: String) throws {
        let error = try #require(parseError("[radius]\nlisten = [\"\(address)\"]\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "radius.listen[0]")
    }

    @Test func emptyListen() throws {
        let error = try #require(parseError("[radius]\nlisten = []\n" + minimalClient))
        #expect(error.key == "radius.listen")
    }

    @Test(arguments: [",,", "", "ab"])
    func delimiterNotOneCharacter(delimiter: String) throws {
        let error = try #require(parseError("[radius]\ndelimiter = \"\(delimiter)\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "radius.delimiter")
    }

    @Test(arguments: [0, 601, -5])
    func duplicateWindowOutOfRange(seconds: Int) throws {
        let error = try #require(parseError("[radius]\nduplicate_window = \(seconds)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "radius.duplicate_window")
    }

    @Test(arguments: ["client_failure_rate", "client_failure_burst"], [-1, 1_000_001])
    func clientFailureLimitOutOfRange(key: String, value: Int) throws {
        let error = try #require(parseError("[radius]\n\(key) = \(value)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "radius.\(key)")
    }

    @Test func driftTwo() throws {
        let error = try #require(parseError("[totp]\ndrift_steps = 2\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "totp.drift_steps")
        #expect(error.description == "totp.drift_steps: must be between 0 and 1, got 2")
    }

    @Test func emptyIssuer() throws {
        let error = try #require(parseError("[totp]\nissuer = \"\"\n" + minimalClient))
        #expect(error.key == "totp.issuer")
    }

    @Test func noClients() throws {
        for toml in ["", "[radius]\nlisten = [\"127.0.0.1:1812\"]", "[radius]\nclients = []"] {
            let error = try #require(parseError(toml))
            #expect(error.code == .missingKey)
            #expect(error.key == "radius.clients")
        }
    }

    @Test func clientsNotTables() throws {
        let error = try #require(parseError("[radius]\nclients = [\"nas\"]"))
        #expect(error.code == .wrongType)
        #expect(error.key == "radius.clients[0]")
    }

    @Test func syntaxError() throws {
        let error = try #require(parseError("[radius]\nlisten = [\"127.0.0.1:1812\"\n"))
        #expect(error.code == .syntax)
        #expect(error.key == nil)
        #expect(error.line != nil)
        #expect(error.column != nil)
        #expect(error.description.hasPrefix("line "))
    }

    @Test func syntaxErrorInFileNamesFileAndPosition() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-\(UUID().uuidString).toml")
        try "[store]\npath = \n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try CountersignConfiguration.load(path: file.path)
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.code == .syntax)
            #expect(error.file == file.path)
            #expect(error.line == 2)
            #expect(error.description.hasPrefix("\(file.path):2:"))
        }
    }

    @Test func validateCatchesCodeBuiltMistakes() throws {
        var config = try parse(minimalClient)
        config.radius.listen = [ListenAddress(host: "127.0.0.1", port: 70000)]
        #expect(throws: ConfigurationError.self) { try config.validate() }
        config.radius.listen = [ListenAddress(host: "nas.example.com", port: 1812)]
        #expect(throws: ConfigurationError.self) { try config.validate() }
    }

    private func client(
        name: String = "nas", address: String = "10.0.0.0/8", secret: String = "s3cret"
    ) -> String {
        """
        [[radius.clients]]
        name = "\(name)"
        address = "\(address)"
        secret = "\(secret)"
        """
    }
}
