import Testing

@testable import CountersignConfig

/// A `[[http.resources]]` table.
private func resource(name: String = "portal", apiKey: String = "0123456789abcdef") -> String {
    """
    [[http.resources]]
    name = "\(name)"
    api_key = "\(apiKey)"
    """
}

@Suite("HTTP and push: defaults and values")
struct HTTPAndPushValueTests {
    @Test func absentSectionsGetDefaults() throws {
        let config = try parse(minimalClient)
        #expect(config.http.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(config.http.publicURL == "http://127.0.0.1:8080")
        #expect(config.http.resources.isEmpty)
        #expect(config.push.timeoutSeconds == 45)
        #expect(config.push.fallback == .totpChallenge)
        #expect(config.push.limit.enabled)
        #expect(config.push.limit.maxConcurrent == 1)
        #expect(config.push.limit.windowSeconds == 60)
        #expect(config.push.limit.exempt == ["radius", "ldap"])
        #expect(config.http == HTTPSettings())
        #expect(config.push == PushSettings())
    }

    @Test func emptySectionsGetDefaults() throws {
        let config = try parse("[http]\n[push]\n[push.limit]\n" + minimalClient)
        #expect(config.http == HTTPSettings())
        #expect(config.push == PushSettings())
    }

    @Test func pushWithoutLimitTableKeepsLimitDefaults() throws {
        let config = try parse("[push]\ntimeout = 10\n" + minimalClient)
        #expect(config.push.timeoutSeconds == 10)
        #expect(config.push.limit == PushLimitSettings())
    }

    @Test func everyNewKeySet() throws {
        let config = try parse(minimalClient + """

            [http]
            listen = "[::]:0"
            public_url = "https://mfa.example.com/countersign/"
            [[http.resources]]
            name = "portal"
            api_key = "portal-key-0123456789"
            [[http.resources]]
            name = "ssh"
            api_key = "ssh-key-abcdefghijklmnop"
            [push]
            timeout = 600
            fallback = "wait"
            [push.limit]
            enabled = false
            max_concurrent = 100
            window = 3600
            exempt = ["api", "radius", "ldap"]
            """)
        #expect(config.http.listen == ListenAddress(host: "::", port: 0))
        #expect(config.http.publicURL == "https://mfa.example.com/countersign")
        #expect(config.http.resources == [
            AuthAPIResource(name: "portal", apiKey: "portal-key-0123456789"),
            AuthAPIResource(name: "ssh", apiKey: "ssh-key-abcdefghijklmnop"),
        ])
        #expect(config.push.timeoutSeconds == 600)
        #expect(config.push.fallback == .wait)
        #expect(config.push.limit.enabled == false)
        #expect(config.push.limit.maxConcurrent == 100)
        #expect(config.push.limit.windowSeconds == 3600)
        #expect(config.push.limit.exempt == ["api", "radius", "ldap"])
    }

    @Test func lowerBoundsAccepted() throws {
        let config = try parse(minimalClient + """

            [push]
            timeout = 1
            [push.limit]
            max_concurrent = 1
            window = 1
            exempt = []
            """)
        #expect(config.push.timeoutSeconds == 1)
        #expect(config.push.limit.windowSeconds == 1)
        #expect(config.push.limit.exempt.isEmpty)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://mfa.example.com", "https://mfa.example.com"),
        ("https://mfa.example.com//", "https://mfa.example.com"),
        ("HTTPS://MFA.example.com/", "HTTPS://MFA.example.com"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ])
    func publicURLTrailingSlashRemoved(url: String, expected: String) throws {
        let config = try parse("[http]\npublic_url = \"\(url)\"\n" + minimalClient)
        #expect(config.http.publicURL == expected)
    }

    @Test func parsedEqualsConfigurationBuiltInCode() throws {
        let built = CountersignConfiguration(
            store: StoreSettings(path: "/etc/countersign/countersign.db"),
            radius: RADIUSSettings(clients: [
                RADIUSClientSettings(name: "nas", network: try #require(IPNetwork("10.0.0.0/8")), secret: "s3cret")
            ]),
            mfa: MFASettings(), totp: TOTPSettings(), log: LogSettings(),
            http: HTTPSettings(
                listen: ListenAddress(host: "0.0.0.0", port: 8443), publicURL: "https://mfa.example.com/",
                resources: [AuthAPIResource(name: "portal", apiKey: "0123456789abcdef")]),
            push: PushSettings(
                timeoutSeconds: 30, fallback: .wait,
                limit: PushLimitSettings(enabled: true, maxConcurrent: 2, windowSeconds: 120, exempt: ["radius"])))
        #expect(built.http.publicURL == "https://mfa.example.com")
        let parsed = try parse(minimalClient + """

            [http]
            listen = "0.0.0.0:8443"
            public_url = "https://mfa.example.com"
            [[http.resources]]
            name = "portal"
            api_key = "0123456789abcdef"
            [push]
            timeout = 30
            fallback = "wait"
            [push.limit]
            max_concurrent = 2
            window = 120
            exempt = ["radius"]
            """)
        #expect(parsed == built)
        try built.validate()
    }
}

@Suite("HTTP and push: errors name their key")
struct HTTPAndPushErrorTests {
    // MARK: Unknown keys

    @Test func unknownKeyInHTTP() throws {
        let error = try #require(parseError("[http]\nlisen = \"127.0.0.1:8080\"\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "http.lisen")
        #expect(error.message.contains("`public_url`"))
    }

    @Test func unknownKeyInResource() throws {
        let error = try #require(parseError(
            minimalClient + "\n[[http.resources]]\nname = \"portal\"\napikey = \"0123456789abcdef\""))
        #expect(error.code == .unknownKey)
        #expect(error.key == "http.resources[0].apikey")
        #expect(error.message.contains("`api_key`"))
    }

    @Test func unknownKeyInPush() throws {
        let error = try #require(parseError("[push]\nenabled = true\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "push.enabled")
    }

    @Test func unknownKeyInPushLimit() throws {
        let error = try #require(parseError("[push.limit]\nwindw = 60\n" + minimalClient))
        #expect(error.code == .unknownKey)
        #expect(error.key == "push.limit.windw")
        #expect(error.description.hasPrefix("push.limit.windw: unknown key `push.limit.windw`"))
    }

    // MARK: [http]

    @Test func listenAsListIsWrongType() throws {
        let error = try #require(parseError("[http]\nlisten = [\"127.0.0.1:8080\"]\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "http.listen")
        #expect(error.message == "expected a string, got an array")
    }

    @Test(arguments: ["127.0.0.1", "example.com:8080", "::1:8080", "127.0.0.1:http"])
    func badListen(address: String) throws {
        let error = try #require(parseError("[http]\nlisten = \"\(address)\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "http.listen")
    }

    @Test func listenPortOutOfRange() throws {
        let error = try #require(parseError("[http]\nlisten = \"127.0.0.1:65536\"\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "http.listen")
    }

    @Test(arguments: [
        "ftp://mfa.example.com", "mfa.example.com", "127.0.0.1:8080", "http://", "https:///path",
        "mailto:admin@example.com", "", "https://mfa.example.com/?x=1", "https://mfa.example.com/#top",
    ])
    func badPublicURL(url: String) throws {
        let error = try #require(parseError("[http]\npublic_url = \"\(url)\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "http.public_url")
    }

    @Test func publicURLWrongType() throws {
        let error = try #require(parseError("[http]\npublic_url = 8080\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "http.public_url")
    }

    @Test func resourcesNotTables() throws {
        let error = try #require(parseError("[http]\nresources = [\"portal\"]\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "http.resources[0]")
    }

    @Test func emptyResourceName() throws {
        let error = try #require(parseError(minimalClient + "\n" + resource(name: "")))
        #expect(error.code == .invalidValue)
        #expect(error.key == "http.resources[0].name")
    }

    @Test func missingResourceName() throws {
        let error = try #require(parseError(minimalClient + "\n[[http.resources]]\napi_key = \"0123456789abcdef\""))
        #expect(error.code == .missingKey)
        #expect(error.key == "http.resources[0].name")
    }

    @Test func missingAPIKey() throws {
        let error = try #require(parseError(minimalClient + "\n[[http.resources]]\nname = \"portal\""))
        #expect(error.code == .missingKey)
        #expect(error.key == "http.resources[0].api_key")
    }

    @Test(arguments: ["", "0123456789abcde"])
    func shortAPIKey(apiKey: String) throws {
        let error = try #require(parseError(minimalClient + "\n" + resource(apiKey: apiKey)))
        #expect(error.code == .invalidValue)
        #expect(error.key == "http.resources[0].api_key")
        #expect(error.message.contains("at least 16 characters"))
        // The (bad) key itself must not end up in logs.
        if !apiKey.isEmpty { #expect(!error.description.contains(apiKey)) }
    }

    @Test func duplicateResourceNames() throws {
        let error = try #require(parseError(minimalClient + "\n" + resource(name: "portal", apiKey: "aaaaaaaaaaaaaaaa")
            + "\n" + resource(name: "portal", apiKey: "bbbbbbbbbbbbbbbb")))
        #expect(error.code == .duplicate)
        #expect(error.key == "http.resources[1].name")
        #expect(error.message.contains("http.resources[0]"))
    }

    @Test func duplicateAPIKeys() throws {
        let error = try #require(parseError(minimalClient + "\n" + resource(name: "portal", apiKey: "shared-key-0123456789")
            + "\n" + resource(name: "ssh", apiKey: "other-key-0123456789")
            + "\n" + resource(name: "vpn", apiKey: "shared-key-0123456789")))
        #expect(error.code == .duplicate)
        #expect(error.key == "http.resources[2].api_key")
        #expect(error.message.contains("http.resources[0]"))
        #expect(!error.description.contains("shared-key-0123456789"))
    }

    // MARK: [push]

    @Test(arguments: [0, 601, -1])
    func timeoutOutOfRange(seconds: Int) throws {
        let error = try #require(parseError("[push]\ntimeout = \(seconds)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "push.timeout")
        #expect(error.message == "must be between 1 and 600, got \(seconds)")
    }

    @Test func timeoutWrongType() throws {
        let error = try #require(parseError("[push]\ntimeout = \"45\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "push.timeout")
    }

    @Test func badFallback() throws {
        let error = try #require(parseError("[push]\nfallback = \"sms\"\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "push.fallback")
        #expect(error.message == #"expected one of "totp-challenge", "wait", got "sms""#)
    }

    @Test func limitNotATable() throws {
        let error = try #require(parseError("[push]\nlimit = 1\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "push.limit")
        #expect(error.message == "expected a table, got an integer")
    }

    @Test(arguments: [0, 101])
    func maxConcurrentOutOfRange(value: Int) throws {
        let error = try #require(parseError("[push.limit]\nmax_concurrent = \(value)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "push.limit.max_concurrent")
    }

    @Test(arguments: [0, 3601])
    func windowOutOfRange(value: Int) throws {
        let error = try #require(parseError("[push.limit]\nwindow = \(value)\n" + minimalClient))
        #expect(error.code == .outOfRange)
        #expect(error.key == "push.limit.window")
    }

    @Test func enabledWrongType() throws {
        let error = try #require(parseError("[push.limit]\nenabled = \"yes\"\n" + minimalClient))
        #expect(error.code == .wrongType)
        #expect(error.key == "push.limit.enabled")
    }

    @Test func exemptUnknownFrontEnd() throws {
        let error = try #require(parseError("[push.limit]\nexempt = [\"radius\", \"smtp\"]\n" + minimalClient))
        #expect(error.code == .invalidValue)
        #expect(error.key == "push.limit.exempt[1]")
        #expect(error.message == #"expected one of "radius", "ldap", "api", got "smtp""#)
    }

    @Test func exemptDuplicate() throws {
        let error = try #require(parseError("[push.limit]\nexempt = [\"radius\", \"ldap\", \"radius\"]\n" + minimalClient))
        #expect(error.code == .duplicate)
        #expect(error.key == "push.limit.exempt[2]")
        #expect(error.message.contains("push.limit.exempt[0]"))
    }

    @Test func exemptWrongTypes() throws {
        let notArray = try #require(parseError("[push.limit]\nexempt = \"radius\"\n" + minimalClient))
        #expect(notArray.code == .wrongType)
        #expect(notArray.key == "push.limit.exempt")
        let notString = try #require(parseError("[push.limit]\nexempt = [\"radius\", 1]\n" + minimalClient))
        #expect(notString.code == .wrongType)
        #expect(notString.key == "push.limit.exempt[1]")
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
        #expect(key { $0.http.listen = ListenAddress(host: "mfa.example.com", port: 8080) } == "http.listen")
        #expect(key { $0.http.listen = ListenAddress(host: "127.0.0.1", port: -1) } == "http.listen")
        #expect(key { $0.http.publicURL = "ws://127.0.0.1:8080" } == "http.public_url")
        #expect(key { $0.http.resources = [AuthAPIResource(name: "portal", apiKey: "short")] }
            == "http.resources[0].api_key")
        #expect(key { $0.push.timeoutSeconds = 0 } == "push.timeout")
        #expect(key { $0.push.limit.maxConcurrent = 101 } == "push.limit.max_concurrent")
        #expect(key { $0.push.limit.windowSeconds = 0 } == "push.limit.window")
        #expect(key { $0.push.limit.exempt = ["RADIUS"] } == "push.limit.exempt[0]")
    }
}
