import Foundation
import Hummingbird
import MFACore
import QRCode

/// The "my factors" page and its actions: TOTP (set up with a QR code, counted once a first code confirms it;
/// removed), the push device (an enrollment link as a QR code; removed), and the user's own recent events.
extension UserPortal {
    func factorsPage<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        guard let session = context.webSession, let user = try await store.user(session.name) else {
            return signedOut(to: "/portal/sign-in")
        }
        return render("portal-factors", "My factors", session: session, request: request, content: try await factors(user, session: session))
    }

    func factors(_ user: UserSummary, session: WebSession) async throws -> PortalFactorsContent {
        let enrolling = session.stage == .enrollment
        let hasFactor = user.totpEnrolled || user.device != nil
        var content = PortalFactorsContent(
            name: user.name, enrollmentOnly: enrolling,
            totp: user.totpEnrolled ? (user.totpEnrolledAt.map { "Enrolled \(AdminConsole.shown($0))." } ?? "Enrolled.") : nil,
            canAddTOTP: !user.totpEnrolled && !(enrolling && hasFactor), canRemove: !enrolling,
            device: user.device.map { device in
                DeviceContent(
                    deviceName: device.name, platform: device.platform, enrolled: AdminConsole.shown(device.enrolledAt),
                    lastUsed: device.lastUsed.map(AdminConsole.shown) ?? "never")
            },
            canAddDevice: user.device == nil && deviceLinks != nil && !(enrolling && hasFactor), events: [])
        if !enrolling {
            content.events = try await store.events(user: user.name, limit: 20).reversed().map { stored in
                EventRow(
                    time: AdminConsole.shown(stored.event.time), type: stored.event.type.rawValue, result: stored.event.result.rawValue,
                    error: stored.event.error, resource: stored.event.resource)
            }
        }
        return content
    }

    /// An enrollment session enrolls a first factor only: once the user has one, it opens nothing more.
    func mayEnroll(_ user: UserSummary, _ session: WebSession) -> Bool {
        session.stage != .enrollment || (!user.totpEnrolled && user.device == nil)
    }

    // MARK: TOTP

    /// A new secret, not stored until a first code confirms it: it travels in the form, sealed to this session.
    func newTOTP<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let (session, user, _) = try await acting(request, context)
        guard mayEnroll(user, session), !user.totpEnrolled else { return back("error", "TOTP is enrolled already.") }
        return try totpSetupPage(TOTPEnrollment.generate(), session: session, error: nil)
    }

    func totpSetupPage(_ enrollment: TOTPEnrollment, session: WebSession, error: String?) throws -> Response {
        let uri = enrollment.uri(issuer: settings.totpIssuer, account: session.name)
        let secret = enrollment.base32Secret
        let content = PortalTOTPContent(
            name: session.name, qrSVG: try QRCode(encoding: uri).svg(),
            secret: CodeContent.grouped(secret),
            pending: secret, seal: signer.seal(secret, for: session))
        return render(
            "portal-totp", "Set up TOTP", session: session, error: error, content: content, status: error == nil ? .ok : .unauthorized)
    }

    func confirmTOTP<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let (session, user, fields) = try await acting(request, context)
        guard mayEnroll(user, session), !user.totpEnrolled else { return back("error", "TOTP is enrolled already.") }
        let pending = fields["pending"] ?? ""
        guard signer.isValidSeal(fields["seal"], of: pending, for: session), let secret = Base32.decode(pending) else {
            throw HTTPError(.forbidden, message: "The form has expired: reload the page and try again.")
        }
        let enrollment = TOTPEnrollment(secret: secret)
        let now = clock.now()
        let code = (fields["code"] ?? "").filter { !$0.isWhitespace }
        guard let step = TOTPVerifier(driftSteps: settings.driftSteps).matchingStep(
            code: code, secret: secret, parameters: enrollment.parameters, at: now)
        else {
            await record(.portalAction, user: user.name, context: context, result: .failure, error: "wrong code", details: ["action": "totp-confirm"])
            return try totpSetupPage(enrollment, session: session, error: "Wrong code: type the code the app shows now.")
        }
        try await store.enrollTOTP(enrollment, for: user.name, at: now)
        // The confirming code is used: it logs in nowhere.
        _ = try await store.recordAcceptedTOTPStep(step, for: user.name)
        await record(.totpEnrolled, user: user.name, context: context)
        if session.stage == .enrollment {
            return signedOut(to: "/portal/sign-in?" + AdminConsole.message("notice", "TOTP is enrolled. Sign in with your password and a code."))
        }
        return back("notice", "TOTP is enrolled.")
    }

    func deleteTOTP<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let (_, user, _) = try await acting(request, context)
        guard user.totpEnrolled else { return back("error", "There is no TOTP to remove.") }
        try await store.deleteTOTP(for: user.name)
        await record(.totpDeleted, user: user.name, context: context)
        return back("notice", "TOTP removed.")
    }

    // MARK: Push device

    /// The single-use link the web authenticator enrolls from, as a QR code for a phone and as a link for this browser.
    func newDevice<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let (session, user, _) = try await acting(request, context)
        guard mayEnroll(user, session), user.device == nil, let deviceLinks else { return back("error", "A device is enrolled already.") }
        let link = try await deviceLinks.deviceEnrollmentLink(for: user.name)
        await record(.portalAction, user: user.name, context: context, details: ["action": "device-enrollment-link"])
        return render(
            "portal-device", "Enroll a device", session: session,
            content: PortalDeviceContent(link: link, qrSVG: try QRCode(encoding: link).svg()))
    }

    func deleteDevice<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let (_, user, _) = try await acting(request, context)
        guard user.device != nil else { return back("error", "There is no device to remove.") }
        try await store.deleteDevice(forUser: user.name)
        await record(.deviceDeleted, user: user.name, context: context)
        return back("notice", "Device removed.")
    }

    // MARK: Helpers

    /// The session, its user and the posted form (with its CSRF token checked).
    func acting<Context: WebSessionRequestContext>(_ request: Request, _ context: Context) async throws
        -> (WebSession, UserSummary, FormFields)
    {
        guard let session = context.webSession else { throw HTTPError(.forbidden, message: "Sign in first.") }
        let fields = try await form(request, session: session)
        guard let user = try await store.user(session.name) else { throw HTTPError(.forbidden, message: "Sign in first.") }
        return (session, user, fields)
    }

    func back(_ kind: String, _ text: String) -> Response {
        .redirect(to: "/portal?" + AdminConsole.message(kind, text))
    }
}

struct PortalCodeContent {
    var name: String
    var state: String
    var csrf: String
}

struct PortalFactorsContent {
    var name: String
    /// An invitation's session: enroll a first factor, nothing else.
    var enrollmentOnly: Bool
    var totp: String?
    var canAddTOTP: Bool
    var canRemove: Bool
    var device: DeviceContent?
    var canAddDevice: Bool
    var events: [EventRow]
}

struct PortalTOTPContent {
    var name: String
    /// Embedded as it is (`{{{qrSVG}}}`): `QRCode.svg` writes numbers only.
    var qrSVG: String
    var secret: String
    /// The base32 secret and its seal, posted back with the first code.
    var pending: String
    var seal: String
}

struct PortalDeviceContent {
    var link: String
    /// Embedded as it is (`{{{qrSVG}}}`): `QRCode.svg` writes numbers only.
    var qrSVG: String
}
