import Foundation
import Hummingbird
import Mustache

/// The console's templates (embedded in the binary like the authenticator's files) and the values they render.
/// Mustache escapes every `{{value}}` for HTML: data is never written with `{{{…}}}`.
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    init() {
        var templates: [String: MustacheTemplate] = [:]
        for (name, bytes) in Self.templates.merging(Self.portalTemplates, uniquingKeysWith: { console, _ in console }) {
            // The templates are part of the binary: one that does not parse is a bug of this build.
            templates[name] = try! MustacheTemplate(string: String(decoding: bytes, as: UTF8.self))
        }
        library = MustacheLibrary(templates: templates)
    }

    static let templates: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache, "sign-in": PackageResources.sign_in_mustache,
        "code": PackageResources.code_mustache, "users": PackageResources.users_mustache,
        "user": PackageResources.user_mustache, "user-actions": PackageResources.user_actions_mustache,
        "settings": PackageResources.settings_mustache, "events": PackageResources.events_mustache,
    ]

    /// The user portal's, and the console's page of a new invitation.
    static let portalTemplates: [String: [UInt8]] = [
        "portal-layout": PackageResources.portal_layout_mustache, "portal-sign-in": PackageResources.portal_sign_in_mustache,
        "portal-code": PackageResources.portal_code_mustache, "portal-invite": PackageResources.portal_invite_mustache,
        "portal-factors": PackageResources.portal_factors_mustache, "portal-totp": PackageResources.portal_totp_mustache,
        "portal-device": PackageResources.portal_device_mustache, "invitation": PackageResources.invitation_mustache,
    ]

    func render<Value>(_ template: String, _ page: Value, status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(page, withTemplate: template) ?? ""
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}

/// What the layout shows around every page; `content` is the page's own.
struct Page<Content> {
    var title: String
    /// The signed-in admin: the header's sign-out form shows then.
    var admin: String?
    var csrf: String?
    var notice: String?
    var error: String?
    var content: Content
}

struct SignInContent {
    var name: String
}

struct CodeContent {
    var name: String
    var setup: Bool
    /// Markup the page embeds as it is (`{{{qrSVG}}}`): made here, from numbers only (`QRCode.svg`).
    var qrSVG: String?
    /// The base32 secret for typing in, grouped by four.
    var secret: String?

    /// A base32 secret in groups of four, for typing in (the console's and the portal's setup pages).
    static func grouped(_ secret: String) -> String {
        stride(from: 0, to: secret.count, by: 4).map { String(secret.dropFirst($0).prefix(4)) }.joined(separator: " ")
    }
}

struct UsersContent {
    var users: Int
    var enrolledShare: String
    var locked: Int
    var search: String?
    var rows: [UserRow]
    var firstPage: String?
    var nextPage: String?
}

/// A user as the list and the user's page show one, with what the action buttons need.
struct UserRow {
    var name: String
    var path: String
    var status: String
    var locked: Bool
    var totp: Bool
    var push: Bool
    /// Where an action's form returns to.
    var back: String
}

struct UserContent {
    /// Name, status and what the action buttons need, as in the list.
    var row: UserRow
    var password: String
    var created: String
    var lock: String
    var totpText: String
    var device: DeviceContent?
    var events: [EventRow]
}

struct DeviceContent {
    var deviceName: String
    var platform: String
    var enrolled: String
    var lastUsed: String
}

struct EventRow {
    var time: String
    var type: String
    var result: String
    var error: String?
    var resource: String?
}
