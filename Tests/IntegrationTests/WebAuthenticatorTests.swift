import CountersignConfig
import Foundation
import MFACore
import Testing

/// The web authenticator's files as the gateway serves them (the page itself runs in Chromium: Tests/Browser), and
/// the server side of user verification that countersign-device meets.
@Suite struct WebAuthenticatorTests {
    static let policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    /// Status line and headers (lower-cased names) of a GET.
    static func headers(_ url: String) async throws -> (status: String, fields: [String: String]) {
        let (status, output) = try await HTTPSGatewayTests.curl(["-D", "-", "-o", "/dev/null", url])
        #expect(status == 0, "\(output)")
        var fields: [String: String] = [:]
        for line in output.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (output.first ?? "", fields)
    }

    @Test(arguments: [
        ("", "text/html; charset=utf-8"), ("/authenticator.js", "text/javascript; charset=utf-8"),
        ("/authenticator.css", "text/css; charset=utf-8"), ("/sw.js", "text/javascript; charset=utf-8"),
        ("/manifest.webmanifest", "application/manifest+json"), ("/icon.svg", "image/svg+xml"),
        ("/icon-192.png", "image/png"), ("/icon-512.png", "image/png"),
    ])
    func everyFileIsServedWithTheSecurityHeaders(file: String, type: String) async throws {
        try await TestGateway.with { gateway in
            let (status, fields) = try await Self.headers("http://127.0.0.1:\(gateway.httpPort)/authenticator\(file)")
            #expect(status.contains(" 200"), "\(status)")
            #expect(fields["content-type"] == type)
            #expect(fields["content-security-policy"] == Self.policy)
            #expect(fields["x-content-type-options"] == "nosniff")
            #expect(fields["referrer-policy"] == "no-referrer")
        }
    }

    @Test func thePageHasNoInlineScriptOrStyle() async throws {
        try await TestGateway.with { gateway in
            let (status, page) = try await HTTPSGatewayTests.curl(["http://127.0.0.1:\(gateway.httpPort)/authenticator"])
            #expect(status == 0)
            let html = page.joined(separator: "\n")
            #expect(html.contains(#"<script src="authenticator/authenticator.js" defer></script>"#))
            #expect(!html.contains("<style") && !html.contains("style=") && !html.contains("onclick"))
            #expect(html.components(separatedBy: "<script").count == 2)
            let missing = try await Self.headers("http://127.0.0.1:\(gateway.httpPort)/authenticator/nothing.js")
            #expect(missing.status.contains(" 404"))
        }
    }

    @Test func underUserVerificationCountersignDeviceIsRefusedSayingWhy() async throws {
        try await TestGateway.with(
            push: PushSettings(requireUserVerification: true), publicURL: "https://localhost:8443"
        ) { gateway in
            try await gateway.addUser("bob", password: "pw", totp: false)
            let (_, settings) = try await HTTPSGatewayTests.curl(["http://127.0.0.1:\(gateway.httpPort)/v1/device/settings"])
            #expect(settings == [#"{"require_user_verification":true}"#])
            let link = try await gateway.admin.enrollDevice("bob").link
            let enroll = try ChildProcess(
                ChildProcess.builtProduct("countersign-device"), ["enroll", link, "--keystore", gateway.directory + "/bob.json"])
            #expect(try await enroll.exitStatus() == 1)
            #expect(
                enroll.output.contains { $0.contains("HTTP 403") && $0.contains("requires user verification") && $0.contains("countersign-device cannot verify the user") },
                "\(enroll.output)")
            #expect(try await gateway.gateway.store.device(forUser: "bob") == nil)
        }
    }
}
