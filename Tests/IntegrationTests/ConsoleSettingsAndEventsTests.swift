import CountersignConfig
import Crypto
import Foundation
import MFACore
import Testing

/// The console's settings page and events page over real HTTP: a setting changed on one node is in force on another
/// that shares its PostgreSQL store within a second of that node's clock, without a restart (its RADIUS logins and its
/// auth API's push limit); events download filtered; no POST without its CSRF token.
@Suite struct ConsoleSettingsAndEventsTests {
    typealias Browser = AdminConsoleTests.Browser

    @Test
    func aSettingChangedOnOneNodeIsInForceOnAnotherWithinASecond() async throws {
        let server = try ClusterTests.Server.fromEnvironment()
        let database = "console_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await server.psql("CREATE DATABASE \(database)")
        defer { Task { try? await server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") } }
        let url = try #require(server.url)
        let store = StoreSettings(
            postgresql: PostgreSQLSettings(
                host: url.host ?? "127.0.0.1", port: url.port ?? 5432, username: url.user ?? "postgres", database: database,
                tls: .disable),
            keyPath: "/nonexistent")
        let environment = ProcessInfo.processInfo.environment.merging([
            PostgreSQLSettings.passwordVariable: server.password,
            SecretBox.keyVariable: Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString(),
        ]) { _, new in new }
        // The file turns the push limiter off on both nodes; the console turns it on.
        let push = PushSettings(limit: PushLimitSettings(enabled: false))
        let portal = AuthAPIResource(name: "portal", apiKey: "portal-key-0123456789")
        try await TestGateway.with(push: push, clientFailureBurst: 100, environment: environment, store: store) { first in
            // The second node's clock is the test's: its settings are read again once a second of it has passed.
            let secondClock = ManualWallClock(Date())
            try await TestGateway.with(
                push: push, resources: [portal], clientFailureBurst: 100, clock: secondClock, environment: environment, store: store
            ) { second in
                try FileManager.default.createDirectory(atPath: first.directory, withIntermediateDirectories: true)
                try await first.admin.addAdmin("root", password: "admin pw")
                _ = try await first.admin.addUser("dave", password: "pw")
                let browser = AdminConsoleTests.browser(first)
                let csrf = try await browser.signIn("root", password: "admin pw", gateway: first)
                let radius = second.radclient()
                func login() async throws -> String {
                    try await radius.send(RADIUSGatewayTests.login("dave", "pw")).code ?? ""
                }
                // `mfa.unenrolled = "deny"` in the file: a user with no factor is refused by the other node.
                #expect(try await login() == "Access-Reject")

                let page = try await browser.request("/admin/settings")
                #expect(page.status == 200 && page.body.contains(#"id="unenrolled-deny" checked"#))
                let saved = try await browser.request(
                    "/admin/settings/unenrolled", form: ["csrf": csrf, "unenrolled": "allow", "do": "save"])
                #expect(saved.status == 303, "\(saved)")
                // The other node uses what it read for up to a second, then reads the row again.
                secondClock.advance(by: 0.5)
                #expect(try await login() == "Access-Reject")
                secondClock.advance(by: 0.5)
                #expect(try await login() == "Access-Accept")
                let limit = try await browser.request(
                    "/admin/settings/push-limit",
                    form: ["csrf": csrf, "enabled": "on", "maximum": "1", "window": "120", "exempt-radius": "on", "do": "save"])
                #expect(limit.status == 303)
                let overrides = try await second.gateway.store.gatewaySettings()
                #expect(overrides.pushLimit == PushLimiter.Settings(enabled: true, maxConcurrent: 1, window: 120, exempt: [.radius]))
                #expect(overrides.allowUnenrolled == true)
                let shown = try await browser.request("/admin/settings")
                #expect(shown.body.contains("at most 1 per 120 s, exempt: radius") && shown.body.contains("overridden"))

                // The other node's auth API applies it: a second push while one is outstanding is refused.
                secondClock.advance(by: 1)
                try await first.addUser("carol", password: "pw", totp: false)
                let device = try second.listen(try await second.enrollDevice("carol"), "--ask", count: 1)
                defer { device.terminate() }
                let api = AuthAPIClient(port: second.httpPort, key: portal.apiKey)
                let pushed = Task { try await api.authenticate("carol") }
                #expect(await device.lines(where: PushGatewayTests.isPushLine) != nil)
                let refused = try await api.authenticate("carol")
                #expect(refused.status == 429 && refused.body.reason == PushLimiter.refusal)
                device.write("y\n")
                let answered = try await pushed.value
                #expect(answered.status == 200 && answered.body.result == "allow")

                // Back to the file's value.
                let reset = try await browser.request("/admin/settings/unenrolled", form: ["csrf": csrf, "do": "reset"])
                #expect(reset.status == 303)
                secondClock.advance(by: 1)
                #expect(try await login() == "Access-Reject")
                let changes = try await first.events(.settingsChanged)
                #expect(changes.map { $0.details["setting"] } == ["mfa.unenrolled", "push_limit", "mfa.unenrolled"])
                #expect(changes.allSatisfy { $0.resource == "admin:web:root" })
                #expect(changes.first?.details["from"] == "deny" && changes.first?.details["to"] == "allow")
                #expect(changes.last?.details["reset"] == "true")
            }
        }
    }

    @Test func aSettingsPostWithoutItsCSRFTokenIsRefused() async throws {
        try await AdminConsoleTests.withAdmin { gateway, browser in
            try await browser.signIn("root", password: "admin pw", gateway: gateway)
            let refused = try await browser.request("/admin/settings/push", form: ["push": "off", "do": "save"])
            #expect(refused.status == 403)
            #expect(try await gateway.gateway.store.isPushEnabled())
            #expect(try await gateway.events(.settingsChanged).isEmpty)
        }
    }

    @Test func eventsAreFilteredPagedAndDownloadedAsCSVAndJSONLines() async throws {
        try await AdminConsoleTests.withAdmin { gateway, browser in
            _ = try await gateway.addUser("alice", password: "pw")
            _ = try await gateway.addUser("bob,\"x\"", password: "pw")
            let csrf = try await browser.signIn("root", password: "admin pw", gateway: gateway)
            for _ in 0..<3 {
                _ = try await browser.request("/admin/users/alice/unlock", form: ["csrf": csrf, "back": "/admin/users"])
            }
            let page = try await browser.request("/admin/events?user=alice")
            #expect(page.status == 200 && page.body.contains("user_unlocked") && !page.body.contains("bob,"))
            #expect(page.body.contains(#"src="/admin/events.js""#))

            let csv = try await browser.request("/admin/events.csv?user=alice&type=user_unlocked")
            #expect(csv.status == 200 && csv.headers["content-type"] == "text/csv; charset=utf-8")
            #expect(csv.headers["content-disposition"]?.contains("events.csv") == true)
            let rows = csv.body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            #expect(rows.first == "id,time,type,user,resource,client_address,result,error,details,node")
            #expect(rows.count == 4 && rows.dropFirst().allSatisfy { $0.contains(",user_unlocked,alice,admin:web:root,") })

            let lines = try await browser.request("/admin/events.jsonl?user=bob%2C%22x%22")
            #expect(lines.status == 200)
            let objects = lines.body.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            // Newest first: the TOTP the test gateway enrolls after adding the user.
            #expect(objects.count == 2 && objects.allSatisfy { $0?["user"] as? String == "bob,\"x\"" })
            #expect(objects.map { $0?["type"] as? String } == ["totp_enrolled", "user_added"])

            // The live view: newer than an id, as JSON.
            let last = try #require(try await gateway.gateway.store.events(matching: EventFilter(), before: nil, limit: 1).first?.id)
            _ = try await browser.request("/admin/users/alice/unlock", form: ["csrf": csrf, "back": "/admin/users"])
            let live = try await browser.request("/admin/events/live?user=alice&after=\(last)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(live.body.utf8)) as? [String: Any])
            #expect((json["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["user_unlocked"])
            #expect(try await browser.request("/admin/events?since=yesterday").headers["location"]?.contains("error=") == true)
        }
    }
}
