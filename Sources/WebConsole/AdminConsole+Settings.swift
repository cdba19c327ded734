import Foundation
import Hummingbird
import MFACore

/// `/admin/settings`: push on or off, the push limiter and unenrolled users, held in the store over the
/// configuration's values; every change is a `settings_changed` event naming the admin.
extension AdminConsole {
    /// The forms of the settings page: the last part of their POST path.
    enum SettingsGroup: String, CaseIterable, Sendable {
        case push
        case pushLimit = "push-limit"
        case unenrolled
    }

    func settingsPage<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        guard let cache = gatewaySettings else { throw HTTPError(.notFound) }
        let overrides = try await store.gatewaySettings()
        let effective = overrides.applied(to: cache.defaults)
        let limit = effective.pushLimit
        let content = SettingsContent(
            pushEnabled: try await store.isPushEnabled(),
            limitEnabled: limit.enabled, limitMaximum: limit.maxConcurrent, limitWindow: Int(limit.window),
            exemptKinds: Resource.Kind.allCases.map { kind in
                ExemptKind(kind: kind.rawValue, label: kind.label, exempt: limit.exempt.contains(kind))
            },
            limitSummary: Self.describe(limit), limitOverridden: overrides.pushLimit != nil,
            limitDefault: Self.describe(cache.defaults.pushLimit),
            allowUnenrolled: effective.allowUnenrolled, unenrolledOverridden: overrides.allowUnenrolled != nil,
            unenrolledDefault: cache.defaults.allowUnenrolled ? "allow" : "deny")
        return pages.render("settings", page("Settings", request, context: context, content: content))
    }

    func changeSettings<Context: WebSessionRequestContext>(_ group: SettingsGroup, _ request: Request, context: Context) async throws
        -> Response
    {
        guard let cache = gatewaySettings else { throw HTTPError(.notFound) }
        let fields = try await form(request, session: context.webSession)
        let reset = fields["do"] == "reset"
        let change: (setting: String, from: String, to: String)
        switch group {
        case .push:
            let before = try await store.isPushEnabled()
            // Push is on unless turned off: on is the default.
            let after = reset ? true : fields["push"] == "on"
            try await store.setPushEnabled(after)
            change = ("push", before ? "on" : "off", after ? "on" : "off")
        case .pushLimit:
            var overrides = try await store.gatewaySettings()
            let before = overrides.applied(to: cache.defaults).pushLimit
            if reset {
                overrides.pushLimit = nil
            } else {
                guard let maximum = fields["maximum"].flatMap(Int.init), (1...1000).contains(maximum),
                    let window = fields["window"].flatMap(Int.init), (1...86_400).contains(window)
                else {
                    return .redirect(
                        to: "/admin/settings?" + Self.message("error", "The maximum is 1 to 1000 pushes, the window 1 to 86400 seconds."))
                }
                overrides.pushLimit = PushLimiter.Settings(
                    enabled: fields["enabled"] == "on", maxConcurrent: maximum, window: TimeInterval(window),
                    exempt: Set(Resource.Kind.allCases.filter { fields["exempt-" + $0.rawValue] == "on" }))
            }
            try await store.setGatewaySettings(overrides)
            change = ("push_limit", Self.describe(before), Self.describe(overrides.applied(to: cache.defaults).pushLimit))
        case .unenrolled:
            var overrides = try await store.gatewaySettings()
            let before = overrides.applied(to: cache.defaults).allowUnenrolled
            overrides.allowUnenrolled = reset ? nil : fields["unenrolled"] == "allow"
            try await store.setGatewaySettings(overrides)
            let after = overrides.applied(to: cache.defaults).allowUnenrolled
            change = ("mfa.unenrolled", before ? "allow" : "deny", after ? "allow" : "deny")
        }
        // In force on this node at once; the others read the row within a second.
        cache.invalidate()
        var details = ["setting": change.setting, "from": change.from, "to": change.to]
        if reset { details["reset"] = "true" }
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .settingsChanged, user: nil, resource: actor(context), clientAddress: context.clientAddress,
                result: .success, details: details))
        let notice = reset ? "Reset \(change.setting) to the configuration's value." : "Saved \(change.setting)."
        return .redirect(to: "/admin/settings?" + Self.message("notice", notice))
    }

    /// The limiter in words, for the page and the audit event.
    static func describe(_ limit: PushLimiter.Settings) -> String {
        guard limit.enabled else { return "off" }
        let exempt = limit.exempt.map(\.rawValue).sorted()
        return "at most \(limit.maxConcurrent) per \(Int(limit.window)) s"
            + (exempt.isEmpty ? ", nothing exempt" : ", exempt: " + exempt.joined(separator: ", "))
    }
}

extension Resource.Kind {
    var label: String {
        switch self {
        case .radius: "RADIUS"
        case .ldap: "LDAP"
        case .api: "Auth API"
        case .portal: "User portal"
        }
    }
}

struct SettingsContent {
    var pushEnabled: Bool
    var limitEnabled: Bool
    var limitMaximum: Int
    var limitWindow: Int
    var exemptKinds: [ExemptKind]
    var limitSummary: String
    var limitOverridden: Bool
    var limitDefault: String
    var allowUnenrolled: Bool
    var unenrolledOverridden: Bool
    var unenrolledDefault: String
}

struct ExemptKind {
    var kind: String
    var label: String
    var exempt: Bool
}
