import Foundation
import Testing

@testable import WebConsole

@Suite struct WebSessionSignerTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)
    let key = [UInt8](repeating: 7, count: 32)
    var signer: WebSessionSigner { WebSessionSigner(key: key) }

    func session(_ role: WebSession.Role = .admin, stage: WebSession.Stage = .signedIn, name: String = "root") -> WebSession {
        WebSession(role: role, stage: stage, name: name, issued: start)
    }

    @Test func aSessionRoundTrips() throws {
        let original = session(name: "ädmin.with.dots")
        let cookie = signer.encode(original)
        #expect(cookie.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != ";" && $0 != "," && $0 != "\"" })
        #expect(try signer.decode(cookie, now: start + 60).get() == original)
    }

    @Test func aForgedSignatureIsRefused() {
        let cookie = signer.encode(session())
        let otherKey = WebSessionSigner(key: [UInt8](repeating: 8, count: 32)).encode(session())
        #expect(signer.decode(otherKey, now: start) == .failure(.badSignature))
        // A payload made by hand, with a MAC of the right length.
        let forged = "v1.admin.full.cm9vdA.00.\(Int(start.timeIntervalSince1970)).\(Int(start.timeIntervalSince1970))."
            + String(repeating: "A", count: 43)
        #expect(signer.decode(forged, now: start) == .failure(.badSignature))
        #expect(signer.decode("", now: start) == .failure(.malformed))
        #expect(signer.decode(cookie + "x", now: start) != .success(session()))
    }

    @Test func aTamperedPayloadIsRefused() {
        let cookie = signer.encode(session(.user))
        // The role turned from user into admin, the signature kept.
        let promoted = cookie.replacingOccurrences(of: "v1.user.", with: "v1.admin.")
        #expect(signer.decode(promoted, now: start) == .failure(.badSignature))
        // The stage turned from password into full.
        let halfway = signer.encode(session(stage: .password))
        #expect(signer.decode(halfway.replacingOccurrences(of: ".password.", with: ".full."), now: start) == .failure(.badSignature))
        // Last seen moved forward to dodge the idle expiry.
        var fields = cookie.split(separator: ".").map(String.init)
        fields[6] = String(Int(start.timeIntervalSince1970) + 3600)
        #expect(signer.decode(fields.joined(separator: "."), now: start) == .failure(.badSignature))
    }

    @Test func idleSessionsExpire() {
        var active = session()
        #expect((try? signer.decode(signer.encode(active), now: start + 15 * 60).get()) != nil)
        #expect(signer.decode(signer.encode(active), now: start + 15 * 60 + 1) == .failure(.idleExpired))
        // Each request re-issues the cookie: a session in use stays.
        active.lastSeen = start + 14 * 60
        #expect((try? signer.decode(signer.encode(active), now: start + 28 * 60).get()) != nil)
    }

    @Test func sessionsExpireAbsolutelyHoweverActive() {
        var active = session()
        active.lastSeen = start + 8 * 3600
        #expect((try? signer.decode(signer.encode(active), now: start + 8 * 3600).get()) != nil)
        active.lastSeen = start + 8 * 3600 + 1
        #expect(signer.decode(signer.encode(active), now: start + 8 * 3600 + 1) == .failure(.absoluteExpired))
        // Between password and code: minutes, not hours.
        let halfway = session(stage: .password)
        #expect(signer.decode(signer.encode(halfway), now: start + 5 * 60 + 1) == .failure(.absoluteExpired))
    }

    @Test func csrfTokensAreBoundToTheSession() {
        let one = session()
        let other = session()
        #expect(one.id != other.id && one.id.count == 32)
        let token = signer.csrfToken(for: one)
        #expect(signer.isValidCSRFToken(token, for: one))
        #expect(!signer.isValidCSRFToken(token, for: other))
        #expect(!signer.isValidCSRFToken(nil, for: one))
        #expect(!signer.isValidCSRFToken("", for: one))
        #expect(!signer.isValidCSRFToken(signer.encode(one), for: one))
    }

    @Test func eachRoleHasACookieOfItsOwn() {
        #expect(WebSession.cookieName(for: .admin, secure: true) == "__Host-countersign-admin")
        #expect(WebSession.cookieName(for: .user, secure: true) == "__Host-countersign-user")
        #expect(WebSession.cookieName(for: .admin, secure: false) == "countersign-admin")
    }
}
