import Testing

@testable import CountersignConfig

@Suite("primary.source = \"radius\": upstream servers and pass_through")
struct UpstreamRADIUSConfigurationTests {
    static func primary(_ body: String) -> String { "[primary]\n" + body + "\n" + minimalClient }

    @Test func serversInOrderWithDefaults() throws {
        let config = try parse(Self.primary("""
            source = "radius"
            pass_through = ["Class", "Cisco-AVPair"]
            [[primary.radius]]
            address = "192.0.2.10"
            secret = "one"
            [[primary.radius]]
            address = "[2001:db8::1]:1645"
            secret_file = "upstream-secret"
            timeout = 0.5
            require_message_authenticator = true
            [[primary.radius]]
            address = "radius.example.org:11812"
            secret = "three"
            """))
        #expect(config.primary.source == .radius)
        #expect(config.primary.passThrough == .named(["Class", "Cisco-AVPair"]))
        #expect(config.primary.radius == [
            UpstreamRADIUSSettings(host: "192.0.2.10", port: 1812, secret: "one"),
            UpstreamRADIUSSettings(
                host: "2001:db8::1", port: 1645, secretFile: "/etc/countersign/upstream-secret", timeoutSeconds: 0.5,
                requireMessageAuthenticator: true),
            UpstreamRADIUSSettings(host: "radius.example.org", port: 11812, secret: "three"),
        ])
        #expect(config.primary.radius[1].address == "[2001:db8::1]:1645")
        let all = try parse(Self.primary("source = \"radius\"\npass_through = \"all\"\n[[primary.radius]]\naddress = \"::1\"\nsecret = \"s\""))
        #expect(all.primary.passThrough == .all)
        #expect(all.primary.radius.first?.host == "::1")
        #expect(all.primary.radius.first?.port == 1812)
    }

    @Test("each mistake names its key", arguments: [
        ("source = \"radius\"", "primary.radius", ConfigurationError.Code.missingKey),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1\"", "primary.radius[0].secret", .missingKey),
        ("source = \"radius\"\n[[primary.radius]]\nsecret = \"s\"", "primary.radius[0].address", .missingKey),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1:x\"\nsecret = \"s\"", "primary.radius[0].address", .invalidValue),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1:0\"\nsecret = \"s\"", "primary.radius[0].address", .invalidValue),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"[::1\"\nsecret = \"s\"", "primary.radius[0].address", .invalidValue),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"\"", "primary.radius[0].secret", .invalidValue),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"\nsecret_file = \"f\"", "primary.radius[0].secret_file", .invalidValue),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"\ntimeout = 0", "primary.radius[0].timeout", .outOfRange),
        ("source = \"radius\"\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"\nport = 1812", "primary.radius[0].port", .unknownKey),
        ("source = \"radius\"\npass_through = \"some\"\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"", "primary.pass_through", .invalidValue),
        ("source = \"radius\"\npass_through = [\"Class\", \"State\"]\n[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"", "primary.pass_through[1]", .invalidValue),
        ("pass_through = [\"Class\"]", "primary.pass_through", .invalidValue),
        ("[[primary.radius]]\naddress = \"192.0.2.1\"\nsecret = \"s\"", "primary.radius", .invalidValue),
    ])
    func errors(body: String, key: String, code: ConfigurationError.Code) throws {
        let error = try #require(parseError(Self.primary(body)))
        #expect(error.key == key, "\(error)")
        #expect(error.code == code, "\(error)")
        #expect(!error.description.contains("\"s\""))
    }
}
