import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MFACore
import QRCode
import WebUI

/// A request context that carries the web session a middleware checked, and the peer's address for audit events.
public protocol WebSessionRequestContext: RequestContext {
    var webSession: WebSession? { get set }
    var clientAddress: String? { get }
}

/// The admin operations the console performs, each writing the same audit event as the CLI's, with `actor`
/// (`admin:web:NAME`) as its resource. CountersignApp's `CountersignAdmin` implements them.
public protocol ConsoleUserActions: Sendable {
    func addUser(_ name: String, password: String?, actor: String) async throws
    func deleteUser(_ name: String, actor: String) async throws
    func unlock(_ name: String, actor: String) async throws
    func deleteTOTP(_ name: String, actor: String) async throws
    func deleteDevice(_ name: String, actor: String) async throws
    /// A single-use invitation link to the user portal (`UserPortal`), shown once.
    func invite(_ name: String, actor: String) async throws -> String
}

/// The admin console at `/admin`: sign-in with password and TOTP (set up at the first sign-in), the users list and a
/// user's page, with their actions. Sessions are signed cookies (`WebSession`); every POST must come from this
/// origin and carry the session's CSRF token; every response carries the console's security headers.
public struct AdminConsole: Sendable {
    public static let path = "/admin"
    public static let pageSize = 50

    public struct Settings: Sendable {
        /// `http.public_url`: its origin may post forms.
        public var publicURL: String
        /// The listener serves TLS itself.
        public var tls: Bool
        /// The issuer an admin's authenticator app shows.
        public var totpIssuer: String
        public var driftSteps: Int
        public var lockout: LockoutPolicy
        public var lifetimes: WebSessionSigner.Lifetimes

        public init(
            publicURL: String, tls: Bool, totpIssuer: String, driftSteps: Int = 1, lockout: LockoutPolicy = LockoutPolicy(),
            lifetimes: WebSessionSigner.Lifetimes = .init()
        ) {
            self.publicURL = publicURL
            self.tls = tls
            self.totpIssuer = totpIssuer
            self.driftSteps = driftSteps
            self.lockout = lockout
            self.lifetimes = lifetimes
        }

        /// Cookies are `Secure` (and `__Host-` named) when the browser reaches the gateway over HTTPS, directly or
        /// through a TLS proxy.
        var secureCookies: Bool { tls || publicURL.lowercased().hasPrefix("https://") }
    }

    /// A CSP without inline script or style: everything comes from this origin; the QR codes are SVG markup in the page.
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    let store: any GatewayStore
    let actions: any ConsoleUserActions
    let audit: any AuditSink
    /// The settings page's values; nil: no settings page.
    let gatewaySettings: GatewaySettingsCache?
    let signer: WebSessionSigner
    let clock: any WallClock
    let hasher: PasswordHasher
    let settings: Settings
    let origin: RequestOrigin
    let pages = ConsolePages()
    let logger: Logger

    /// `sessionKey`: the store's `sharedKey(named: "web-session")`, the same on every node.
    public init(
        store: any GatewayStore, actions: any ConsoleUserActions, audit: any AuditSink, gatewaySettings: GatewaySettingsCache? = nil,
        sessionKey: [UInt8], settings: Settings,
        clock: any WallClock = SystemWallClock(), hasher: PasswordHasher = PasswordHasher(),
        logger: Logger = Logger(label: "countersign.console")
    ) {
        self.store = store
        self.actions = actions
        self.audit = audit
        self.gatewaySettings = gatewaySettings
        signer = WebSessionSigner(key: sessionKey, lifetimes: settings.lifetimes)
        self.settings = settings
        self.clock = clock
        self.hasher = hasher
        origin = RequestOrigin(publicURL: settings.publicURL)
        self.logger = logger
    }

    public func register<Context: WebSessionRequestContext>(on router: Router<Context>) {
        let console = router.group(RouterPath(stringLiteral: Self.path))
            .add(middleware: SecurityHeadersMiddleware(contentSecurityPolicy: Self.contentSecurityPolicy, cacheControl: "no-store"))
        console.get("console.css") { _, _ in Self.file(PackageResources.console_css, contentType: "text/css; charset=utf-8") }
        console.get("console.js") { _, _ in Self.file(PackageResources.console_js, contentType: "text/javascript; charset=utf-8") }
        console.get("events.js") { _, _ in Self.file(PackageResources.events_js, contentType: "text/javascript; charset=utf-8") }
        console.get("sign-in") { request, _ in try await signInPage(request) }
        console.post("sign-in") { request, context in try await signIn(request, context: context) }
        console.get("sign-in/code") { request, _ in try await codePage(request) }
        console.post("sign-in/code") { request, context in try await confirmCode(request, context: context) }

        let signedIn = console.group().add(middleware: AdminSessionMiddleware<Context>(console: self))
        signedIn.get { _, _ in Response.redirect(to: "/admin/users") }
        signedIn.post("sign-out") { request, context in try await signOut(request, context: context) }
        signedIn.get("users") { request, context in try await usersPage(request, context: context) }
        signedIn.post("users") { request, context in try await addUser(request, context: context) }
        signedIn.get("users/:name") { request, context in try await userPage(request, context: context) }
        signedIn.post("users/:name/invite") { request, context in try await invite(request, context: context) }
        for action in UserAction.allCases {
            signedIn.post(RouterPath(stringLiteral: "users/:name/\(action.rawValue)")) { request, context in
                try await perform(action, request, context: context)
            }
        }
        signedIn.get("settings") { request, context in try await settingsPage(request, context: context) }
        for group in SettingsGroup.allCases {
            signedIn.post(RouterPath(stringLiteral: "settings/\(group.rawValue)")) { request, context in
                try await changeSettings(group, request, context: context)
            }
        }
        registerEvents(on: signedIn)
    }

    static func file(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: Sessions

    var cookieName: String { WebSession.cookieName(for: .admin, secure: settings.secureCookies) }

    /// The admin session the request's cookie holds at `stage`, or nil (none, forged, expired, another role or stage).
    func session(_ request: Request, stage: WebSession.Stage) -> WebSession? {
        guard let value = request.cookies[cookieName]?.value else { return nil }
        switch signer.decode(value, now: clock.now()) {
        case .success(let session) where session.role == .admin && session.stage == stage:
            return session
        case .success(let session):
            logger.debug("console cookie of another role or stage refused", metadata: ["role": "\(session.role)"])
            return nil
        case .failure(let refusal):
            logger.debug("console cookie refused", metadata: ["reason": "\(refusal)"])
            return nil
        }
    }

    func cookie(for session: WebSession) -> Cookie {
        Cookie(
            name: cookieName, value: signer.encode(session), path: "/", secure: settings.secureCookies, httpOnly: true, sameSite: .strict)
    }

    var endedCookie: Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: settings.secureCookies, httpOnly: true, sameSite: .strict)
    }

    /// The fields of a posted form; with a session, its CSRF token must be among them.
    func form(_ request: Request, session: WebSession?) async throws -> FormFields {
        try await signer.postedForm(request, session: session)
    }

    func requireSameOrigin(_ request: Request) throws {
        try origin.requireSameOrigin(request, tls: settings.tls)
    }

    // MARK: Sign-in

    func signInPage(_ request: Request) async throws -> Response {
        if session(request, stage: .signedIn) != nil { return .redirect(to: "/admin/users") }
        return pages.render("sign-in", Page(title: "Sign in", content: SignInContent(name: "")))
    }

    func signIn<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        try requireSameOrigin(request)
        let fields = try await form(request, session: nil)
        let name = fields["name"] ?? ""
        let password = fields["password"] ?? ""
        let now = clock.now()
        let account = UserName.isValid(name) ? try await store.adminAccount(name) : nil
        let locked = account?.lockedUntil.map { $0 > now } ?? false
        // An unknown name or a locked account costs the same time as a wrong password.
        let valid = await withTaskExecutorPreference(HashingThreads.shared) {
            guard let account, !locked else {
                hasher.verifyAgainstNothing(password)
                return false
            }
            return hasher.verify(password, against: account.passwordHash)
        }
        guard valid else {
            let reason = account == nil ? "unknown admin" : locked ? "locked" : "wrong password"
            await signInFailed(name: name, known: account != nil && !locked, reason: reason, step: "password", context: context)
            return pages.render(
                "sign-in", Page(title: "Sign in", error: "Wrong name or password.", content: SignInContent(name: name)),
                status: .unauthorized)
        }
        var response = Response.redirect(to: "/admin/sign-in/code")
        response.setCookie(cookie(for: WebSession(role: .admin, stage: .password, name: name, issued: now)))
        return response
    }

    func codePage(_ request: Request) async throws -> Response {
        guard let session = session(request, stage: .password), let account = try await store.adminAccount(session.name) else {
            return .redirect(to: "/admin/sign-in")
        }
        return try await codeForm(for: account, session: session, error: nil)
    }

    /// The code form; before the first confirmed code, with the secret to set up (made now if there is none yet).
    func codeForm(for account: AdminAccount, session: WebSession, error: String?, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        var content = CodeContent(name: account.name, setup: !account.totpConfirmed)
        if !account.totpConfirmed {
            var enrollment = account.totp
            if enrollment == nil {
                let made = TOTPEnrollment.generate()
                try await store.setUnconfirmedAdminTOTP(made, for: account.name)
                enrollment = made
            }
            if let enrollment {
                let uri = enrollment.uri(issuer: settings.totpIssuer + " admin", account: account.name)
                content.qrSVG = try QRCode(encoding: uri).svg()
                content.secret = CodeContent.grouped(enrollment.base32Secret)
            }
        }
        return pages.render(
            "code", Page(title: content.setup ? "Set up your code" : "Your code", csrf: signer.csrfToken(for: session), error: error, content: content),
            status: status)
    }

    func confirmCode<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        try requireSameOrigin(request)
        guard let session = session(request, stage: .password) else { return .redirect(to: "/admin/sign-in") }
        let fields = try await form(request, session: session)
        guard let account = try await store.adminAccount(session.name), let totp = account.totp else {
            return .redirect(to: "/admin/sign-in")
        }
        let now = clock.now()
        if let until = account.lockedUntil, until > now {
            await signInFailed(name: account.name, known: false, reason: "locked", step: "code", context: context)
            return signedOut(to: "/admin/sign-in")
        }
        let code = (fields["code"] ?? "").filter { !$0.isWhitespace }
        let step = TOTPVerifier(driftSteps: settings.driftSteps).matchingStep(
            code: code, secret: totp.secret, parameters: totp.parameters, at: now)
        guard let step, try await store.recordAdminTOTPStep(step, for: account.name) else {
            let locked = await signInFailed(
                name: account.name, known: true, reason: step == nil ? "wrong code" : "code already used", step: "code", context: context)
            if locked { return signedOut(to: "/admin/sign-in") }
            return try await codeForm(for: account, session: session, error: "Wrong code.", status: .unauthorized)
        }
        try await store.clearAdminFailures(for: account.name)
        await audit.record(
            AuditEvent(
                time: now, type: .adminSignIn, user: account.name, resource: "admin:web", clientAddress: context.clientAddress,
                result: .success, details: account.totpConfirmed ? [:] : ["totp": "set up"]))
        // A new id for the signed-in session: nothing learnt before the code carries over.
        var response = Response.redirect(to: "/admin/users")
        response.setCookie(cookie(for: WebSession(role: .admin, stage: .signedIn, name: account.name, issued: now)))
        return response
    }

    /// Counts the failure against a known admin (lockout) and writes the event; true when it locked the admin.
    @discardableResult
    func signInFailed<Context: WebSessionRequestContext>(name: String, known: Bool, reason: String, step: String, context: Context) async
        -> Bool
    {
        let now = clock.now()
        var locked = false
        if known {
            do {
                locked = try await store.recordAdminFailure(for: name, now: now, policy: settings.lockout)
            } catch {
                logger.error("could not count a failed console sign-in", metadata: ["error": "\(error)"])
            }
        }
        await audit.record(
            AuditEvent(
                time: now, type: .adminSignIn, user: UserName.isValid(name) ? name : nil, resource: "admin:web",
                clientAddress: context.clientAddress, result: .failure, error: reason,
                details: locked ? ["step": step, "locked": "true"] : ["step": step]))
        return locked
    }

    func signedOut(to location: String) -> Response {
        var response = Response.redirect(to: location)
        response.setCookie(endedCookie)
        return response
    }

    func signOut<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        _ = try await form(request, session: context.webSession)
        return signedOut(to: "/admin/sign-in")
    }
}

extension WebSession {
    /// Each role's cookie has a name of its own; under TLS the `__Host-` prefix makes the browser insist on `Secure`,
    /// `Path=/` and no `Domain` (RFC 6265bis §4.1.3.2).
    public static func cookieName(for role: Role, secure: Bool) -> String {
        (secure ? "__Host-" : "") + "countersign-" + role.rawValue
    }
}

/// `application/x-www-form-urlencoded` fields (a form's body, a GET form's query), `+` read as a space.
struct FormFields: Sendable {
    private var fields: [String: String] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let key = decode(parts[0]), let value = parts.count > 1 ? decode(parts[1]) : "" else { continue }
            if fields[key] == nil { fields[key] = value }
        }
    }

    subscript(_ key: String) -> String? { fields[key] }
}

/// Every page but sign-in: an admin session that is signed in fully, of an admin who still exists; a POST must come
/// from this origin. The cookie is issued again on every response, so idle expiry counts from the last request.
struct AdminSessionMiddleware<Context: WebSessionRequestContext>: RouterMiddleware {
    let console: AdminConsole

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = console.session(request, stage: .signedIn), try await console.store.adminAccount(session.name) != nil else {
            if request.method == .get { return console.signedOut(to: "/admin/sign-in") }
            throw HTTPError(.forbidden, message: "Sign in first.")
        }
        if request.method != .get { try console.requireSameOrigin(request) }
        var context = context
        context.webSession = session
        var response = try await next(request, context)
        if response.headers[.setCookie] == nil {
            var seen = session
            seen.lastSeen = console.clock.now()
            response.setCookie(console.cookie(for: seen))
        }
        return response
    }
}
