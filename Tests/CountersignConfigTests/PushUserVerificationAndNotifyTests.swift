import Testing

@testable import CountersignConfig

/// `push.require_user_verification` and `[[push.notify]]`.
@Suite("Push: user verification and webhooks")
struct PushUserVerificationAndNotifyTests {
    @Test func defaultsAreOffAndNone() throws {
        let config = try parse(minimalClient)
        #expect(!config.push.requireUserVerification)
        #expect(config.push.notify.isEmpty)
    }

    @Test func everyKeySet() throws {
        let config = try parse(minimalClient + """

            [http]
            public_url = "https://mfa.example.com"
            [push]
            require_user_verification = true
            [[push.notify]]
            url = "https://ntfy.example.com/alerts"
            headers = { "X-Token" = "secret-token", Title = "Sign-in" }
            [[push.notify]]
            url = "http://127.0.0.1:9000/hook"
            """)
        #expect(config.push.requireUserVerification)
        #expect(config.push.notify == [
            PushWebhook(url: "https://ntfy.example.com/alerts", headers: ["X-Token": "secret-token", "Title": "Sign-in"]),
            PushWebhook(url: "http://127.0.0.1:9000/hook"),
        ])
    }

    /// Each bad configuration, the key its error names and its code.
    @Test(arguments: [
        // WebAuthn has no RP IDs that are IP addresses.
        ("[http]\npublic_url = \"https://127.0.0.1:8443\"\n[push]\nrequire_user_verification = true", "push.require_user_verification", ConfigurationError.Code.invalidValue),
        ("[http]\npublic_url = \"https://[::1]:8443\"\n[push]\nrequire_user_verification = true", "push.require_user_verification", .invalidValue),
        ("[push]\nrequire_user_verification = \"yes\"", "push.require_user_verification", .wrongType),
        ("[push]\nnotify = \"https://example.com\"", "push.notify", .wrongType),
        ("[[push.notify]]\nheaders = { A = \"b\" }", "push.notify[0].url", .missingKey),
        ("[[push.notify]]\nurl = \"https://example.com\"\nmethod = \"GET\"", "push.notify[0].method", .unknownKey),
        ("[[push.notify]]\nurl = \"ftp://example.com/x\"", "push.notify[0].url", .invalidValue),
        ("[[push.notify]]\nurl = \"not a url\"", "push.notify[0].url", .invalidValue),
        ("[[push.notify]]\nurl = \"https://example.com\"\nheaders = \"X-Token: a\"", "push.notify[0].headers", .wrongType),
        ("[[push.notify]]\nurl = \"https://example.com\"\nheaders = { \"X-Token\" = 1 }", "push.notify[0].headers.X-Token", .wrongType),
        ("[[push.notify]]\nurl = \"https://example.com\"\nheaders = { \"Bad Name\" = \"a\" }", "push.notify[0].headers", .invalidValue),
        ("[[push.notify]]\nurl = \"https://example.com\"\nheaders = { \"X-A\" = \"a\\r\\nX-B: b\" }", "push.notify[0].headers.X-A", .invalidValue),
        ("[[push.notify]]\nurl = \"https://example.com\"\n[[push.notify]]\nurl = \"\"", "push.notify[1].url", .invalidValue),
    ])
    func badValuesNameTheirKey(toml: String, key: String, code: ConfigurationError.Code) throws {
        let error = try #require(parseError(toml + "\n" + minimalClient))
        #expect(error.key == key, "\(error)")
        #expect(error.code == code, "\(error)")
    }

    @Test func userVerificationWithAHostNameIsAccepted() throws {
        let config = try parse("[http]\npublic_url = \"https://localhost:8443\"\n[push]\nrequire_user_verification = true\n" + minimalClient)
        #expect(config.push.requireUserVerification)
    }
}
