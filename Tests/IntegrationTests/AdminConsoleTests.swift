import CountersignConfig
import Foundation
import MFACore
import Testing
import WebConsole

/// The admin console over real HTTP(S) with curl: sign-in with password and a first code, the security headers, and
/// each refusal (no CSRF token, another site, a user's session, a forged or expired cookie).
@Suite struct AdminConsoleTests {
    /// A browser as curl plays one: a cookie jar, and this origin on every POST unless told otherwise.
    struct Browser {
        let origin: String
        let jar: String
        var ca: String?

        struct Reply {
            var status: Int
            var headers: [String: String]
            var body: String
        }

        func request(
            _ path: String, form: [String: String]? = nil, headers: [String: String] = [:], sendOrigin: Bool = true, cookie: String? = nil
        ) async throws -> Reply {
            var arguments = ["-i", "-c", jar] + (cookie == nil ? ["-b", jar] : ["-H", "Cookie: \(cookie!)"])
            if let ca { arguments += ["--cacert", ca] }
            if let form {
                if sendOrigin && headers["Origin"] == nil { arguments += ["-H", "Origin: \(origin)"] }
                for (key, value) in form.sorted(by: { $0.key < $1.key }) { arguments += ["--data-urlencode", "\(key)=\(value)"] }
            }
            for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
            let (status, lines) = try await HTTPSGatewayTests.curl(arguments + [origin + path])
            #expect(status == 0, "\(lines)")
            var reply = Reply(status: Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0, headers: [:], body: "")
            var index = 1
            while index < lines.count, !lines[index].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                if let colon = lines[index].firstIndex(of: ":") {
                    reply.headers[lines[index][..<colon].lowercased()] =
                        lines[index][lines[index].index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                }
                index += 1
            }
            reply.body = lines.dropFirst(index).joined(separator: "\n")
            return reply
        }

        /// Signs in as `name` through both steps, setting TOTP up on the first; returns the CSRF token of the session.
        @discardableResult
        func signIn(_ name: String, password: String, gateway: TestGateway) async throws -> String {
            let password = try await request("/admin/sign-in", form: ["name": name, "password": password])
            #expect(password.status == 303 && password.headers["location"] == "/admin/sign-in/code")
            let page = try await request("/admin/sign-in/code")
            let csrf = try #require(Self.field("csrf", in: page.body))
            let secret = try #require(Self.between(#"id="secret" class="secret">"#, "<", in: page.body))
            let key = try #require(Base32.decode(secret.replacingOccurrences(of: " ", with: "")))
            let code = OneTimeCode.totp(secret: key, at: gateway.clock.now())
            let signedIn = try await request("/admin/sign-in/code", form: ["csrf": csrf, "code": code])
            #expect(signedIn.status == 303 && signedIn.headers["location"] == "/admin/users", "\(signedIn)")
            return try #require(Self.field("csrf", in: try await request("/admin/users").body))
        }

        static func field(_ name: String, in html: String) -> String? {
            between(#"name="\#(name)" value=""#, "\"", in: html)
        }

        static func between(_ start: String, _ end: String, in text: String) -> String? {
            guard let from = text.range(of: start), let to = text[from.upperBound...].range(of: end) else { return nil }
            return String(text[from.upperBound..<to.lowerBound])
        }
    }

    static func browser(_ gateway: TestGateway, scheme: String = "http", ca: String? = nil) -> Browser {
        Browser(
            origin: "\(scheme)://localhost:\(gateway.httpPort)",
            jar: gateway.directory + "/cookies-\(UUID()).txt", ca: ca)
    }

    static func withAdmin(lockout: LockoutSettings = LockoutSettings(), _ body: (TestGateway, Browser) async throws -> Void) async throws {
        try await TestGateway.with(lockout: lockout) { gateway in
            try FileManager.default.createDirectory(atPath: gateway.directory, withIntermediateDirectories: true)
            try await gateway.admin.addAdmin("root", password: "admin pw")
            try await body(gateway, browser(gateway))
        }
    }

    @Test func anAdminSignsInWithPasswordAndAFirstCodeAndEveryPageHasTheHeaders() async throws {
        try await Self.withAdmin { gateway, browser in
            try await gateway.addUser("<script>alert(1)</script>", password: "pw")
            let signIn = try await browser.request("/admin/sign-in")
            #expect(signIn.status == 200 && signIn.body.contains(#"<label for="password">"#))
            try await browser.signIn("root", password: "admin pw", gateway: gateway)
            #expect(try await gateway.gateway.store.adminAccount("root")?.totpConfirmed == true)
            let users = try await browser.request("/admin/users")
            #expect(users.status == 200)
            for page in [signIn, users] {
                #expect(page.headers["content-security-policy"] == AdminConsole.contentSecurityPolicy)
                #expect(page.headers["x-content-type-options"] == "nosniff")
                #expect(page.headers["referrer-policy"] == "no-referrer")
                #expect(page.headers["cache-control"] == "no-store")
                #expect(!page.body.contains("<style") && !page.body.contains("style=") && !page.body.contains("onclick"))
            }
            #expect(AdminConsole.contentSecurityPolicy.contains("frame-ancestors 'none'"))
            // Each request re-issues the session cookie (idle expiry counts from the last one): HttpOnly, SameSite=Strict.
            let cookie = try #require(users.headers["set-cookie"])
            #expect(cookie.hasPrefix("countersign-admin=v1.admin.full."))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
            // A stored name is text, never markup.
            #expect(!users.body.contains("<script>alert(1)</script>"))
            #expect(users.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            let page = try await browser.request("/admin/users/%3Cscript%3Ealert%281%29%3C%2Fscript%3E")
            #expect(page.status == 200 && !page.body.contains("<script>alert") && page.body.contains("&lt;script&gt;alert(1)"))
            let events = try await gateway.events(.adminSignIn)
            #expect(events.map(\.result) == [.success] && events.first?.user == "root" && events.first?.details["totp"] == "set up")
        }
    }

    @Test func aPostWithoutTheRightCSRFTokenIsRefused() async throws {
        try await Self.withAdmin { gateway, browser in
            try await gateway.addUser("alice", password: "pw")
            let csrf = try await browser.signIn("root", password: "admin pw", gateway: gateway)
            #expect(try await browser.request("/admin/users/alice/delete", form: ["back": "/admin/users"]).status == 403)
            #expect(try await browser.request("/admin/users/alice/delete", form: ["csrf": "AAAA" + csrf.dropFirst(4)]).status == 403)
            #expect(try await gateway.gateway.store.user("alice") != nil)
            let deleted = try await browser.request("/admin/users/alice/delete", form: ["csrf": csrf, "back": "/admin/users"])
            #expect(deleted.status == 303)
            #expect(try await gateway.gateway.store.user("alice") == nil)
            // The CLI's event, naming the admin.
            let event = try #require(try await gateway.events(.userDeleted).last)
            #expect(event.user == "alice" && event.resource == "admin:web:root")
        }
    }

    @Test func aCrossSitePostIsRefused() async throws {
        try await Self.withAdmin { gateway, browser in
            try await gateway.addUser("alice", password: "pw")
            let csrf = try await browser.signIn("root", password: "admin pw", gateway: gateway)
            let form = ["csrf": csrf]
            #expect(try await browser.request("/admin/users/alice/delete", form: form, headers: ["Origin": "https://evil.example"]).status == 403)
            #expect(try await browser.request("/admin/users/alice/delete", form: form, headers: ["Sec-Fetch-Site": "cross-site"]).status == 403)
            #expect(try await browser.request("/admin/users/alice/delete", form: form, sendOrigin: false).status == 403)
            #expect(try await browser.request("/admin/users/alice/delete", form: form, headers: ["Origin": "null"]).status == 403)
            let sandboxed = ["Origin": "null", "Sec-Fetch-Site": "cross-site"]
            #expect(try await browser.request("/admin/users/alice/delete", form: form, headers: sandboxed).status == 403)
            // Sign-in too: a login form posted from another site.
            let signIn = try await browser.request(
                "/admin/sign-in", form: ["name": "root", "password": "admin pw"], headers: ["Origin": "https://evil.example"])
            #expect(signIn.status == 403)
            #expect(try await gateway.gateway.store.user("alice") != nil)
        }
    }

    @Test func aUserSessionAForgedAndAnExpiredCookieAreRefused() async throws {
        try await Self.withAdmin { gateway, browser in
            try await gateway.addUser("alice", password: "pw")
            let key = try await gateway.gateway.store.sharedKey(named: "web-session")
            let signer = WebSessionSigner(key: key)
            let now = gateway.clock.now()
            let cookies = [
                // The user portal's session, signed with the real key, put into the admin cookie's name.
                signer.encode(WebSession(role: .user, stage: .signedIn, name: "root", issued: now)),
                // Signed with another key.
                WebSessionSigner(key: [UInt8](repeating: 1, count: 32)).encode(
                    WebSession(role: .admin, stage: .signedIn, name: "root", issued: now)),
                // Idle for an hour.
                signer.encode(WebSession(role: .admin, stage: .signedIn, name: "root", issued: now - 3600)),
                // Active, but issued nine hours ago.
                signer.encode(WebSession(role: .admin, stage: .signedIn, name: "root", issued: now - 9 * 3600, lastSeen: now - 60)),
                // Only the password was checked.
                signer.encode(WebSession(role: .admin, stage: .password, name: "root", issued: now)),
                // An admin who does not exist.
                signer.encode(WebSession(role: .admin, stage: .signedIn, name: "ghost", issued: now)),
            ]
            for value in cookies {
                let page = try await browser.request("/admin/users", cookie: "countersign-admin=\(value)")
                #expect(page.status == 303 && page.headers["location"] == "/admin/sign-in", "\(value)")
                #expect(!page.body.contains("alice"))
                let csrf = (try? signer.decode(value, now: now).get()).map(signer.csrfToken(for:)) ?? "none"
                let post = try await browser.request("/admin/users/alice/delete", form: ["csrf": csrf], cookie: "countersign-admin=\(value)")
                #expect(post.status == 403)
            }
            // The good one, for contrast.
            let good = signer.encode(WebSession(role: .admin, stage: .signedIn, name: "root", issued: now))
            #expect(try await browser.request("/admin/users", cookie: "countersign-admin=\(good)").status == 200)
            #expect(try await gateway.gateway.store.user("alice") != nil)
        }
    }

    @Test func failedSignInsAreEventsWithoutThePasswordAndLockTheAdmin() async throws {
        try await Self.withAdmin(lockout: LockoutSettings(maxFailures: 3)) { gateway, browser in
            for _ in 0..<3 {
                let wrong = try await browser.request("/admin/sign-in", form: ["name": "root", "password": "guess-123"])
                #expect(wrong.status == 401 && wrong.body.contains("Wrong name or password."))
            }
            // Locked: the right password is refused too.
            let locked = try await browser.request("/admin/sign-in", form: ["name": "root", "password": "admin pw"])
            #expect(locked.status == 401)
            let events = try await gateway.events(.adminSignIn)
            #expect(events.map(\.error) == ["wrong password", "wrong password", "wrong password", "locked"])
            #expect(events[2].details["locked"] == "true")
            #expect(!"\(events)".contains("guess-123") && !"\(events)".contains("admin pw"))
        }
    }

    @Test func underTLSTheCookieIsSecureAndHostPrefixed() async throws {
        try await HTTPSGatewayTests.withCertificateAuthority { ca in
            try await TestGateway.with(httpsWith: ca) { gateway in
                try FileManager.default.createDirectory(atPath: gateway.directory, withIntermediateDirectories: true)
                try await gateway.admin.addAdmin("root", password: "admin pw")
                let browser = Self.browser(gateway, scheme: "https", ca: ca.caPath)
                let reply = try await browser.request("/admin/sign-in", form: ["name": "root", "password": "admin pw"])
                let cookie = try #require(reply.headers["set-cookie"])
                #expect(cookie.hasPrefix("__Host-countersign-admin=v1.admin.password."))
                #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                #expect(cookie.contains("Path=/") && !cookie.contains("Domain"))
            }
        }
    }
}
