import DeviceProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MFACore
import QRCode
import WebUI

/// What the portal asks of the app beyond the store: a device enrollment link (`countersign device enroll`'s).
public protocol PortalDeviceLinks: Sendable {
    /// `{public_url}/authenticator#…`, single-use, for `user`'s phone or this browser.
    func deviceEnrollmentLink(for user: String) async throws -> String
}

/// The user portal at `/portal`: a user signs in with password and second factor through the MFA core (so lockout
/// counts portal failures), or opens an invitation (or, with `enroll_with_password`, the password alone when no
/// factor is enrolled yet) for a session that may enroll a first factor and nothing else. Sessions are the console's
/// signed cookies with the `user` role, under a cookie name of their own: an admin cookie opens nothing here.
public struct UserPortal: Sendable {
    public static let path = "/portal"
    /// The resource of the portal's logins and events.
    public static let resource = Resource(kind: .portal, name: "web")
    /// How long an invitation link works unless the admin says otherwise.
    public static let invitationLifetime: TimeInterval = 7 * 86400

    public struct Settings: Sendable {
        public var publicURL: String
        public var tls: Bool
        public var totpIssuer: String
        public var driftSteps: Int
        /// `[portal] enroll_with_password`: the password alone opens an enrollment session for a user with no factor.
        public var enrollWithPassword: Bool
        public var lifetimes: WebSessionSigner.Lifetimes

        public init(
            publicURL: String, tls: Bool, totpIssuer: String, driftSteps: Int = 1, enrollWithPassword: Bool = false,
            lifetimes: WebSessionSigner.Lifetimes = .init()
        ) {
            self.publicURL = publicURL
            self.tls = tls
            self.totpIssuer = totpIssuer
            self.driftSteps = driftSteps
            self.enrollWithPassword = enrollWithPassword
            self.lifetimes = lifetimes
        }

        var secureCookies: Bool { tls || publicURL.lowercased().hasPrefix("https://") }
    }

    let store: any GatewayStore
    let authenticator: any LoginAuthenticator
    let deviceLinks: (any PortalDeviceLinks)?
    let audit: any AuditSink
    let signer: WebSessionSigner
    let clock: any WallClock
    let settings: Settings
    let origin: RequestOrigin
    let pages = ConsolePages()
    let logger: Logger

    /// `sessionKey`: the store's `sharedKey(named: "web-session")`, as the console's.
    public init(
        store: any GatewayStore, authenticator: any LoginAuthenticator, deviceLinks: (any PortalDeviceLinks)?, audit: any AuditSink,
        sessionKey: [UInt8], settings: Settings, clock: any WallClock = SystemWallClock(),
        logger: Logger = Logger(label: "countersign.portal")
    ) {
        self.store = store
        self.authenticator = authenticator
        self.deviceLinks = deviceLinks
        self.audit = audit
        signer = WebSessionSigner(key: sessionKey, lifetimes: settings.lifetimes)
        self.settings = settings
        self.clock = clock
        origin = RequestOrigin(publicURL: settings.publicURL)
        self.logger = logger
    }

    public func register<Context: WebSessionRequestContext>(on router: Router<Context>) {
        let portal = router.group(RouterPath(stringLiteral: Self.path))
            .add(middleware: SecurityHeadersMiddleware(contentSecurityPolicy: AdminConsole.contentSecurityPolicy, cacheControl: "no-store"))
        portal.get("portal.js") { _, _ in AdminConsole.file(PackageResources.portal_js, contentType: "text/javascript; charset=utf-8") }
        portal.get("sign-in") { request, _ in try await signInPage(request) }
        portal.post("sign-in") { request, context in try await signIn(request, context: context) }
        portal.post("sign-in/code") { request, context in try await confirmCode(request, context: context) }
        portal.get("invite") { request, _ in invitePage(request) }
        portal.post("invite") { request, context in try await redeemInvitation(request, context: context) }

        // Enrollment sessions (an invitation's) and full ones alike.
        let enrolling = portal.group().add(middleware: UserSessionMiddleware<Context>(portal: self, fullOnly: false))
        enrolling.get { request, context in try await factorsPage(request, context: context) }
        enrolling.post("sign-out") { request, context in try await signOut(request, context: context) }
        enrolling.post("totp/new") { request, context in try await newTOTP(request, context: context) }
        enrolling.post("totp/confirm") { request, context in try await confirmTOTP(request, context: context) }
        enrolling.post("device/new") { request, context in try await newDevice(request, context: context) }

        let signedIn = portal.group().add(middleware: UserSessionMiddleware<Context>(portal: self, fullOnly: true))
        signedIn.post("totp/delete") { request, context in try await deleteTOTP(request, context: context) }
        signedIn.post("device/delete") { request, context in try await deleteDevice(request, context: context) }
    }

    // MARK: Sessions

    var cookieName: String { WebSession.cookieName(for: .user, secure: settings.secureCookies) }

    /// The user session the cookie holds at one of `stages`, or nil (none, forged, expired, another role or stage).
    func session(_ request: Request, stages: Set<WebSession.Stage>) -> WebSession? {
        guard let value = request.cookies[cookieName]?.value,
            case .success(let session) = signer.decode(value, now: clock.now()),
            session.role == .user, stages.contains(session.stage)
        else { return nil }
        return session
    }

    func cookie(for session: WebSession) -> Cookie {
        Cookie(name: cookieName, value: signer.encode(session), path: "/", secure: settings.secureCookies, httpOnly: true, sameSite: .strict)
    }

    func signedOut(to location: String) -> Response {
        var response = Response.redirect(to: location)
        response.setCookie(
            Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: settings.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func signedIn(_ session: WebSession, to location: String = "/portal") -> Response {
        var response = Response.redirect(to: location)
        response.setCookie(cookie(for: session))
        return response
    }

    func form(_ request: Request, session: WebSession?) async throws -> FormFields {
        try await signer.postedForm(request, session: session)
    }

    func requireSameOrigin(_ request: Request) throws {
        try origin.requireSameOrigin(request, tls: settings.tls)
    }

    func record<Context: WebSessionRequestContext>(
        _ type: AuditEventType, user: String, context: Context, result: AuditResult = .success, error: String? = nil,
        details: [String: String] = [:]
    ) async {
        await audit.record(
            AuditEvent(
                time: clock.now(), type: type, user: user, resource: "portal:" + user, clientAddress: context.clientAddress,
                result: result, error: error, details: details))
    }

    func render<Content>(_ template: String, _ title: String, session: WebSession?, request: Request? = nil, error: String? = nil,
        content: Content, status: HTTPResponse.Status = .ok) -> Response
    {
        let query = FormFields(request?.uri.query ?? "")
        return pages.render(
            template,
            Page(
                title: title, admin: session?.name, csrf: session.map(signer.csrfToken(for:)), notice: query["notice"],
                error: error ?? query["error"], content: content),
            status: status)
    }

    // MARK: Sign-in

    func signInPage(_ request: Request) async throws -> Response {
        if session(request, stages: [.signedIn]) != nil { return .redirect(to: "/portal") }
        return render("portal-sign-in", "Sign in", session: nil, request: request, content: SignInContent(name: ""))
    }

    /// The password through the MFA core, as a challenge-style login: a code is asked for when the user has TOTP;
    /// a user with a push device alone gets the push, and this request waits for the answer.
    func signIn<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        try requireSameOrigin(request)
        let fields = try await form(request, session: nil)
        let name = fields["name"] ?? ""
        let attempt = LoginAttempt(
            username: name, secret: fields["password"] ?? "", delivery: .challenge, resource: Self.resource,
            clientAddress: context.clientAddress ?? "")
        let now = clock.now()
        switch await authenticator.authenticate(authenticator.attemptReceived(attempt)) {
        case .accept:
            return signedIn(WebSession(role: .user, stage: .signedIn, name: name, issued: now))
        case .challenge(_, let state):
            let session = WebSession(role: .user, stage: .password, name: name, issued: now)
            var response = codePage(session, state: state, error: nil)
            response.setCookie(cookie(for: session))
            return response
        case .reject(.noSecondFactor) where settings.enrollWithPassword:
            // The password was right and there is no factor to ask for: a session to enroll one.
            await record(.portalSignIn, user: name, context: context, details: ["step": "password", "session": "enrollment"])
            return signedIn(WebSession(role: .user, stage: .enrollment, name: name, issued: now))
        case .reject(let reason):
            return render(
                "portal-sign-in", "Sign in", session: nil, error: reason.userMessage, content: SignInContent(name: name),
                status: .unauthorized)
        case .dropped:
            throw HTTPError(.serviceUnavailable, message: "Busy: try again in a moment.")
        }
    }

    /// The challenge's State rides in the form: single-use and bound to the user, the resource and the address.
    func codePage(_ session: WebSession, state: [UInt8], error: String?) -> Response {
        render(
            "portal-code", "Your code", session: nil, error: error,
            content: PortalCodeContent(name: session.name, state: Base64URL.encode(state), csrf: signer.csrfToken(for: session)),
            status: error == nil ? .ok : .unauthorized)
    }

    func confirmCode<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        try requireSameOrigin(request)
        guard let session = session(request, stages: [.password]) else { return .redirect(to: "/portal/sign-in") }
        let fields = try await form(request, session: session)
        guard let state = fields["state"].flatMap({ Base64URL.decode($0) }) else { return .redirect(to: "/portal/sign-in") }
        let attempt = LoginAttempt(
            username: session.name, secret: (fields["code"] ?? "").filter { !$0.isWhitespace }, delivery: .challenge,
            resource: Self.resource, clientAddress: context.clientAddress ?? "", challengeState: state)
        switch await authenticator.authenticate(attempt) {
        case .accept:
            // A new id for the signed-in session: nothing learnt before the code carries over.
            return signedIn(WebSession(role: .user, stage: .signedIn, name: session.name, issued: clock.now()))
        case .reject(let reason):
            // The State is used up either way: the sign-in starts again.
            return signedOut(to: "/portal/sign-in?" + AdminConsole.message("error", reason.userMessage + ". Sign in again."))
        case .challenge, .dropped:
            return signedOut(to: "/portal/sign-in?" + AdminConsole.message("error", "Sign in again."))
        }
    }

    func signOut<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        _ = try await form(request, session: context.webSession)
        return signedOut(to: "/portal/sign-in")
    }

    // MARK: Invitations

    /// The link's token is in the fragment, which no server log sees; the page's script copies it into the form.
    func invitePage(_ request: Request) -> Response {
        render("portal-invite", "Your invitation", session: nil, request: request, content: ())
    }

    func redeemInvitation<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        try requireSameOrigin(request)
        let fields = try await form(request, session: nil)
        let token = (fields["token"] ?? "").filter { !$0.isWhitespace }
        guard !token.isEmpty, let name = try await store.redeemInvitation(token, now: clock.now()) else {
            await audit.record(
                AuditEvent(
                    time: clock.now(), type: .invitationRedeemed, user: nil, resource: "portal:web", clientAddress: context.clientAddress,
                    result: .failure, error: "unknown, used or expired"))
            return render(
                "portal-invite", "Your invitation", session: nil,
                error: "This invitation is not valid: it was used already or has expired. Ask your admin for a new one.", content: (),
                status: .forbidden)
        }
        await record(.invitationRedeemed, user: name, context: context)
        return signedIn(WebSession(role: .user, stage: .enrollment, name: name, issued: clock.now()))
    }
}

/// Every page but sign-in and the invitation: a user session (an enrollment one too, unless `fullOnly`) of a user
/// who still exists; a POST must come from this origin. The cookie is issued again on every response (idle expiry).
struct UserSessionMiddleware<Context: WebSessionRequestContext>: RouterMiddleware {
    let portal: UserPortal
    let fullOnly: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let stages: Set<WebSession.Stage> = fullOnly ? [.signedIn] : [.signedIn, .enrollment]
        guard let session = portal.session(request, stages: stages), try await portal.store.user(session.name) != nil else {
            if request.method == .get { return portal.signedOut(to: "/portal/sign-in") }
            throw HTTPError(.forbidden, message: "Sign in first.")
        }
        if request.method != .get { try portal.requireSameOrigin(request) }
        var context = context
        context.webSession = session
        var response = try await next(request, context)
        if response.headers[.setCookie] == nil {
            var seen = session
            seen.lastSeen = portal.clock.now()
            response.setCookie(portal.cookie(for: seen))
        }
        return response
    }
}
