import CountersignConfig
import Foundation
import MFACore
import Testing
import WebConsole

/// The user portal over real HTTP with curl: invitations (once, not after expiry), enrolling TOTP confirmed by a
/// first code, sign-in with password and code through the MFA core (lockout counts it), and each refusal.
@Suite struct UserPortalTests {
    typealias Browser = AdminConsoleTests.Browser

    static func token(of link: String) throws -> String {
        String(try #require(link.split(separator: "#", maxSplits: 1).last))
    }

    /// Opens the invitation and returns the enrollment session's CSRF token (from the factors page).
    static func redeem(_ link: String, browser: Browser) async throws -> String {
        let opened = try await browser.request("/portal/invite", form: ["token": try token(of: link)])
        #expect(opened.status == 303 && opened.headers["location"] == "/portal", "\(opened)")
        #expect(opened.headers["set-cookie"]?.hasPrefix("countersign-user=v1.user.enroll.") == true)
        return try #require(Browser.field("csrf", in: try await browser.request("/portal").body))
    }

    /// Signs in with password and code; returns the full session's CSRF token.
    static func signIn(_ name: String, password: String, secret: [UInt8], gateway: TestGateway, browser: Browser) async throws -> String {
        let password = try await browser.request("/portal/sign-in", form: ["name": name, "password": password])
        #expect(password.status == 200 && password.body.contains(#"name="state""#), "\(password)")
        let csrf = try #require(Browser.field("csrf", in: password.body))
        let state = try #require(Browser.field("state", in: password.body))
        let signedIn = try await browser.request(
            "/portal/sign-in/code", form: ["csrf": csrf, "state": state, "code": gateway.code(secret)])
        #expect(signedIn.status == 303 && signedIn.headers["location"] == "/portal", "\(signedIn)")
        return try #require(Browser.field("csrf", in: try await browser.request("/portal").body))
    }

    @Test func anInvitationEnrollsAFirstTOTPConfirmedByACodeAndWorksOnce() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("alice", password: "alice pw", totp: false)
            let link = try await gateway.admin.invite("alice")
            #expect(link.hasPrefix("http://127.0.0.1:\(gateway.httpPort)/portal/invite#"))
            let browser = AdminConsoleTests.browser(gateway)
            let page = try await browser.request("/portal/invite")
            #expect(page.status == 200 && page.headers["content-security-policy"] == AdminConsole.contentSecurityPolicy)
            #expect(page.headers["x-content-type-options"] == "nosniff" && page.headers["cache-control"] == "no-store")
            let csrf = try await Self.redeem(link, browser: browser)
            // Used: a second browser is refused.
            let again = try await AdminConsoleTests.browser(gateway).request("/portal/invite", form: ["token": try Self.token(of: link)])
            #expect(again.status == 403 && again.headers["set-cookie"] == nil)
            // An enrollment session removes nothing and sees no events.
            #expect(try await browser.request("/portal/device/delete", form: ["csrf": csrf]).status == 403)
            let factors = try await browser.request("/portal")
            #expect(factors.body.contains(#"id="add-totp""#) && !factors.body.contains(#"id="events""#))
            // No CSRF token: refused.
            #expect(try await browser.request("/portal/totp/new", form: ["code": "123456"]).status == 403)
            let setup = try await browser.request("/portal/totp/new", form: ["csrf": csrf])
            #expect(setup.status == 200 && setup.body.contains(#"id="qr" role="img""#) && setup.body.contains("<svg xmlns="))
            let pending = try #require(Browser.field("pending", in: setup.body))
            let seal = try #require(Browser.field("seal", in: setup.body))
            let secret = try #require(Base32.decode(pending))
            // Not stored before a code confirms it; a secret of one's own choosing is refused.
            #expect(try await gateway.gateway.store.user("alice")?.totpEnrolled == false)
            let planted = Base32.encode([UInt8](repeating: 0, count: 20))
            let forged = try await browser.request(
                "/portal/totp/confirm", form: ["csrf": csrf, "pending": planted, "seal": seal, "code": "000000"])
            #expect(forged.status == 403)
            let wrong = try await browser.request(
                "/portal/totp/confirm", form: ["csrf": csrf, "pending": pending, "seal": seal, "code": gateway.wrongCode(secret)])
            #expect(wrong.status == 401 && wrong.body.contains("Wrong code"))
            let confirmed = try await browser.request(
                "/portal/totp/confirm", form: ["csrf": csrf, "pending": pending, "seal": seal, "code": gateway.code(secret)])
            #expect(confirmed.status == 303 && confirmed.headers["location"]?.hasPrefix("/portal/sign-in?notice=") == true)
            #expect(try await gateway.gateway.store.user("alice")?.totpEnrolled == true)
            // The confirming code logs in nowhere; the enrollment session has ended.
            let replay = try await gateway.radclient().send(UpstreamRADIUSTests.request("alice", "alice pw," + gateway.code(secret)))
            #expect(replay.code == "Access-Reject")
            let next = try await gateway.radclient().send(UpstreamRADIUSTests.request("alice", "alice pw," + gateway.code(secret, stepOffset: 1)))
            #expect(next.code == "Access-Accept")
            #expect(try await browser.request("/portal").headers["location"] == "/portal/sign-in")
            let events = try await gateway.events()
            #expect(events.contains { $0.type == .invitationCreated && $0.user == "alice" && $0.resource == "admin:cli" })
            #expect(events.contains { $0.type == .invitationRedeemed && $0.user == "alice" && $0.result == .success })
            #expect(events.contains { $0.type == .totpEnrolled && $0.resource == "portal:alice" })
            #expect(!"\(events)".contains(try Self.token(of: link)) && !"\(events)".contains(pending))
        }
    }

    @Test func anExpiredInvitationIsRefused() async throws {
        try await TestGateway.with { gateway in
            try await gateway.addUser("alice", password: "alice pw", totp: false)
            try await gateway.gateway.store.createInvitation("OLD-TOKEN", for: "alice", expires: gateway.clock.now() - 1)
            let browser = AdminConsoleTests.browser(gateway)
            let refused = try await browser.request("/portal/invite", form: ["token": "OLD-TOKEN"])
            #expect(refused.status == 403 && refused.body.contains("not valid"))
            #expect(try await browser.request("/portal").headers["location"] == "/portal/sign-in")
            // From another site: refused before the token is even looked at.
            let link = try await gateway.admin.invite("alice")
            let crossSite = try await browser.request(
                "/portal/invite", form: ["token": try Self.token(of: link)], headers: ["Origin": "https://evil.example"])
            #expect(crossSite.status == 403)
            _ = try await Self.redeem(link, browser: browser)
        }
    }

    @Test func aUserSignsInWithPasswordAndCodeAndRemovesTOTP() async throws {
        try await TestGateway.with { gateway in
            let secret = try await gateway.addUser("alice", password: "alice pw")
            let browser = AdminConsoleTests.browser(gateway)
            let csrf = try await Self.signIn("alice", password: "alice pw", secret: secret, gateway: gateway, browser: browser)
            let factors = try await browser.request("/portal")
            #expect(factors.status == 200 && factors.body.contains(#"id="remove-totp""#) && factors.body.contains(#"id="events""#))
            #expect(factors.body.contains("portal_sign_in") && factors.body.contains(#"id="sign-out""#))
            #expect(factors.headers["set-cookie"]?.hasPrefix("countersign-user=v1.user.full.") == true)
            // Without the token, or with another session's: refused.
            #expect(try await browser.request("/portal/totp/delete", form: ["code": "123456"]).status == 403)
            #expect(try await browser.request("/portal/totp/delete", form: ["csrf": "AAAA" + csrf.dropFirst(4)]).status == 403)
            #expect(try await gateway.gateway.store.user("alice")?.totpEnrolled == true)
            let removed = try await browser.request("/portal/totp/delete", form: ["csrf": csrf])
            #expect(removed.status == 303 && removed.headers["location"]?.hasPrefix("/portal?notice=") == true)
            #expect(try await gateway.gateway.store.user("alice")?.totpEnrolled == false)
            let event = try #require(try await gateway.events(.totpDeleted).last)
            #expect(event.user == "alice" && event.resource == "portal:alice")
            // The sign-in went through the MFA core: its events, never the password or code.
            let signIns = try await gateway.events(.portalSignIn)
            #expect(signIns.map(\.result) == [.challenge, .success] && signIns.allSatisfy { $0.resource == "portal:web" })
            #expect(!"\(signIns)".contains("alice pw"))
            // The next RADIUS login has no second factor left.
            let login = try await gateway.radclient().send(UpstreamRADIUSTests.request("alice", "alice pw," + gateway.code(secret)))
            #expect(login.code == "Access-Reject")
            let signOut = try await browser.request("/portal/sign-out", form: ["csrf": csrf])
            #expect(signOut.status == 303 && signOut.headers["location"] == "/portal/sign-in")
            #expect(try await browser.request("/portal").headers["location"] == "/portal/sign-in")
        }
    }

    @Test func portalFailuresCountTowardsLockout() async throws {
        try await TestGateway.with(lockout: LockoutSettings(maxFailures: 3)) { gateway in
            let secret = try await gateway.addUser("alice", password: "alice pw")
            let browser = AdminConsoleTests.browser(gateway)
            for _ in 0..<3 {
                let wrong = try await browser.request("/portal/sign-in", form: ["name": "alice", "password": "guess-123"])
                #expect(wrong.status == 401)
            }
            let locked = try await browser.request("/portal/sign-in", form: ["name": "alice", "password": "alice pw"])
            #expect(locked.status == 401 && locked.body.contains("locked"))
            let login = try await gateway.radclient().send(UpstreamRADIUSTests.request("alice", "alice pw," + gateway.code(secret)))
            #expect(login.code == "Access-Reject")
            #expect(try await gateway.events(.userLocked).count == 1)
            #expect(!"\(try await gateway.events())".contains("guess-123"))
        }
    }

    @Test func sessionsOfOneAreaOpenNothingInTheOther() async throws {
        try await AdminConsoleTests.withAdmin { gateway, browser in
            try await gateway.addUser("root", password: "pw", totp: false)
            let signer = WebSessionSigner(key: try await gateway.gateway.store.sharedKey(named: "web-session"))
            let now = gateway.clock.now()
            let admin = signer.encode(WebSession(role: .admin, stage: .signedIn, name: "root", issued: now))
            let user = signer.encode(WebSession(role: .user, stage: .signedIn, name: "root", issued: now))
            let enrolling = signer.encode(WebSession(role: .user, stage: .enrollment, name: "root", issued: now))
            // An admin session on the portal, under either cookie name.
            for cookie in ["countersign-user=\(admin)", "countersign-admin=\(admin)"] {
                #expect(try await browser.request("/portal", cookie: cookie).headers["location"] == "/portal/sign-in")
            }
            // A user session (full or enrollment) on the console, under either cookie name.
            for value in [user, enrolling] {
                for cookie in ["countersign-user=\(value)", "countersign-admin=\(value)"] {
                    #expect(try await browser.request("/admin/users", cookie: cookie).headers["location"] == "/admin/sign-in")
                }
            }
            #expect(try await browser.request("/portal", cookie: "countersign-user=\(user)").status == 200)
        }
    }

    @Test func theConsolesButtonShowsAnInvitationOnceAndNeedsTheCSRFToken() async throws {
        try await AdminConsoleTests.withAdmin { gateway, browser in
            try await gateway.addUser("alice", password: "alice pw", totp: false)
            let csrf = try await browser.signIn("root", password: "admin pw", gateway: gateway)
            #expect(try await browser.request("/admin/users/alice").body.contains(#"action="/admin/users/alice/invite""#))
            #expect(try await browser.request("/admin/users/alice/invite", form: ["back": "x"]).status == 403)
            let made = try await browser.request("/admin/users/alice/invite", form: ["csrf": csrf])
            #expect(made.status == 200)
            let link = try #require(Browser.between(#"id="invitation-link" class="secret">"#, "<", in: made.body))
            #expect(link.contains("/portal/invite#"))
            let event = try #require(try await gateway.events(.invitationCreated).last)
            let token = try Self.token(of: link)
            #expect(event.user == "alice" && event.resource == "admin:web:root" && !"\(event)".contains(token))
            _ = try await Self.redeem(link, browser: AdminConsoleTests.browser(gateway))
        }
    }

    @Test(arguments: [false, true])
    func thePasswordAloneOpensAnEnrollmentSessionOnlyWhenAllowed(_ enrollWithPassword: Bool) async throws {
        try await TestGateway.with(portal: PortalSettings(enrollWithPassword: enrollWithPassword)) { gateway in
            try await gateway.addUser("bob", password: "bob pw", totp: false)
            let browser = AdminConsoleTests.browser(gateway)
            let reply = try await browser.request("/portal/sign-in", form: ["name": "bob", "password": "bob pw"])
            if enrollWithPassword {
                #expect(reply.status == 303 && reply.headers["set-cookie"]?.hasPrefix("countersign-user=v1.user.enroll.") == true)
                #expect(try await browser.request("/portal").body.contains(#"id="enrollment-only""#))
            } else {
                #expect(reply.status == 401 && reply.headers["set-cookie"] == nil)
            }
            // A wrong password opens nothing either way.
            let wrong = try await AdminConsoleTests.browser(gateway).request("/portal/sign-in", form: ["name": "bob", "password": "nope"])
            #expect(wrong.status == 401 && wrong.headers["set-cookie"] == nil)
        }
    }
}
