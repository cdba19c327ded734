import Foundation
import Hummingbird
import MFACore

/// The users list, a user's page, and the actions on a user.
extension AdminConsole {
    /// The actions of a user's buttons: the last part of their POST path.
    enum UserAction: String, CaseIterable, Sendable {
        case delete
        case unlock
        case resetTOTP = "reset-totp"
        case deleteDevice = "delete-device"

        func notice(_ name: String) -> String {
            switch self {
            case .delete: "Deleted user \(name)."
            case .unlock: "Unlocked \(name)."
            case .resetTOTP: "Removed the TOTP secret of \(name)."
            case .deleteDevice: "Deleted the push device of \(name)."
            }
        }
    }

    func usersPage<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let query = FormFields(request.uri.query ?? "")
        let search = query["q"].flatMap { $0.isEmpty ? nil : $0 }
        let after = query["after"].flatMap { $0.isEmpty ? nil : $0 }
        let now = clock.now()
        // One more than a page: whether there is a next one.
        var users = try await store.users(matching: search, after: after, limit: Self.pageSize + 1)
        let more = users.count > Self.pageSize
        if more { users.removeLast() }
        let counts = try await store.userCounts(now: now)
        let back = "/admin/users" + (search.map { "?q=" + Self.queryEncoded($0) } ?? "")
        let searchQuery = search.map { "q=" + Self.queryEncoded($0) + "&" } ?? ""
        let content = UsersContent(
            users: counts.users,
            enrolledShare: counts.users == 0 ? "0%" : "\(Int((Double(counts.enrolled) * 100 / Double(counts.users)).rounded()))%",
            locked: counts.locked, search: search, rows: users.map { row($0, now: now, back: back) },
            firstPage: after == nil ? nil : back,
            nextPage: more ? "/admin/users?" + searchQuery + "after=" + Self.queryEncoded(users.last?.name ?? "") : nil)
        return pages.render("users", page("Users", request, context: context, content: content))
    }

    func userPage<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let name = try userName(context)
        guard let user = try await store.user(name) else {
            return .redirect(to: "/admin/users?" + Self.message("error", "There is no user \(name)."))
        }
        let now = clock.now()
        let row = row(user, now: now, back: Self.userPath(name))
        let events = try await store.events(user: name, limit: 20).reversed().map { stored in
            EventRow(
                time: Self.shown(stored.event.time), type: stored.event.type.rawValue, result: stored.event.result.rawValue,
                error: stored.event.error, resource: stored.event.resource)
        }
        let content = UserContent(
            row: row,
            password: user.hasPassword ? "set" : "none (checked by the directory or upstream, if any)",
            created: Self.shown(user.createdAt),
            lock: row.locked ? "locked until \(Self.shown(user.lockedUntil ?? now))" : "not locked",
            totpText: user.totpEnrolledAt.map { "Enrolled \(Self.shown($0))." } ?? (user.totpEnrolled ? "Enrolled." : "Not enrolled."),
            device: user.device.map { device in
                DeviceContent(
                    deviceName: device.name, platform: device.platform, enrolled: Self.shown(device.enrolledAt),
                    lastUsed: device.lastUsed.map(Self.shown) ?? "never")
            },
            events: Array(events))
        return pages.render("user", page(user.name, request, context: context, content: content))
    }

    func addUser<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let fields = try await form(request, session: context.webSession)
        let name = fields["name"] ?? ""
        let password = fields["password"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            try await actions.addUser(name, password: password, actor: actor(context))
        } catch let error as StoreError {
            return .redirect(to: "/admin/users?" + Self.message("error", Self.explain(error)))
        }
        return .redirect(to: "/admin/users?q=" + Self.queryEncoded(name) + "&" + Self.message("notice", "Added user \(name)."))
    }

    func perform<Context: WebSessionRequestContext>(_ action: UserAction, _ request: Request, context: Context) async throws -> Response {
        let fields = try await form(request, session: context.webSession)
        let name = try userName(context)
        let actor = actor(context)
        // Back where the form was, unless that was the page of the user just deleted.
        var back = Self.localPath(fields["back"]) ?? "/admin/users"
        if action == .delete && back == Self.userPath(name) { back = "/admin/users" }
        let joiner = back.contains("?") ? "&" : "?"
        do {
            switch action {
            case .delete: try await actions.deleteUser(name, actor: actor)
            case .unlock: try await actions.unlock(name, actor: actor)
            case .resetTOTP: try await actions.deleteTOTP(name, actor: actor)
            case .deleteDevice: try await actions.deleteDevice(name, actor: actor)
            }
        } catch let error as StoreError {
            return .redirect(to: back + joiner + Self.message("error", Self.explain(error)))
        }
        return .redirect(to: back + joiner + Self.message("notice", action.notice(name)))
    }

    // MARK: Helpers

    /// The resource of the admin's audit events.
    func actor<Context: WebSessionRequestContext>(_ context: Context) -> String {
        "admin:web:" + (context.webSession?.name ?? "?")
    }

    func page<Context: WebSessionRequestContext, Content>(_ title: String, _ request: Request, context: Context, content: Content)
        -> Page<Content>
    {
        let query = FormFields(request.uri.query ?? "")
        return Page(
            title: title, admin: context.webSession?.name, csrf: context.webSession.map(signer.csrfToken(for:)),
            notice: query["notice"], error: query["error"], content: content)
    }

    func row(_ user: UserSummary, now: Date, back: String) -> UserRow {
        let status =
            switch (user.totpEnrolled, user.device != nil) {
            case (false, false): "none"
            case (true, false): "TOTP"
            case (false, true): "push"
            case (true, true): "both (TOTP and push)"
            }
        return UserRow(
            name: user.name, path: Self.userPath(user.name), status: status, locked: user.lockedUntil.map { $0 > now } ?? false,
            totp: user.totpEnrolled, push: user.device != nil, back: back)
    }

    func userName<Context: WebSessionRequestContext>(_ context: Context) throws -> String {
        guard let raw = context.parameters.get("name"), let name = raw.removingPercentEncoding else {
            throw HTTPError(.badRequest)
        }
        return name
    }

    static func userPath(_ name: String) -> String {
        "/admin/users/" + (name.addingPercentEncoding(withAllowedCharacters: pathCharacters) ?? "")
    }

    static func queryEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: pathCharacters) ?? ""
    }

    /// Unreserved characters (RFC 3986 §2.3): everything else of a name is percent-encoded in a path or query.
    private static let pathCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func message(_ kind: String, _ text: String) -> String {
        kind + "=" + queryEncoded(text)
    }

    /// A path of the console's own, never another site (no scheme, no `//`).
    static func localPath(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/admin/"), !path.hasPrefix("//"), !path.contains("\\"), !path.contains("://") else { return nil }
        return path
    }

    static func explain(_ error: StoreError) -> String {
        switch error.code {
        case .noSuchUser: "There is no such user."
        case .userExists: "A user of that name exists already."
        case .notEnrolled: "Nothing to remove: the user has no TOTP."
        case .invalidUsername: "Not a valid name: \(UserName.rule)."
        default: "The action failed: \(error.message)"
        }
    }

    static func shown(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateTimeSeparator(.space).time(includingFractionalSeconds: false)) + " UTC"
    }
}
