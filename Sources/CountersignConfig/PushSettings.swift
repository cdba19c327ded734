import Foundation

/// Push approvals on enrolled devices: `[push]` and its `[push.limit]`.
public struct PushSettings: Sendable, Equatable {
    /// `push.timeout`, default 45, 1...600: seconds a push waits for the user's answer.
    public var timeoutSeconds: Int
    /// `push.fallback`, default `.totpChallenge`.
    public var fallback: PushFallback
    /// `[push.limit]`.
    public var limit: PushLimitSettings
    /// `push.number_matching`, default false: a RADIUS login that would wait for a push gets an Access-Challenge at
    /// once; after approving, the device shows a number that the user types as the response.
    public var numberMatching: Bool
    /// `push.require_user_verification`, default false: every answer must carry a WebAuthn assertion with user
    /// verification (the web authenticator with a platform authenticator); `countersign-device` cannot enroll.
    public var requireUserVerification: Bool
    /// `[[push.notify]]`, default none: webhooks told of each new push.
    public var notify: [PushWebhook]

    public static let timeoutRange = 1...600

    public init(
        timeoutSeconds: Int = 45, fallback: PushFallback = .totpChallenge, limit: PushLimitSettings = PushLimitSettings(),
        numberMatching: Bool = false, requireUserVerification: Bool = false, notify: [PushWebhook] = []
    ) {
        self.numberMatching = numberMatching
        self.requireUserVerification = requireUserVerification
        self.notify = notify
        self.timeoutSeconds = timeoutSeconds
        self.fallback = fallback
        self.limit = limit
    }
}

/// An entry of `[[push.notify]]`: for each new push, a POST of JSON (user, resource, a link to the authenticator) to
/// `url`, such as a self-hosted ntfy topic or a chat room's incoming webhook.
public struct PushWebhook: Sendable, Equatable {
    /// `url`, required: `http://` or `https://` with a host.
    public var url: String
    /// `headers`, default none: an inline table of header names and values (e.g. a token).
    public var headers: [String: String]

    public init(url: String, headers: [String: String] = [:]) {
        self.url = url
        self.headers = headers
    }
}

/// `push.fallback`: whether a TOTP code can stand in for the push.
public enum PushFallback: String, Sendable, Equatable, CaseIterable {
    /// The user can answer with a TOTP code instead (an Access-Challenge); the default.
    case totpChallenge = "totp-challenge"
    /// Only the push answer counts.
    case wait
}

/// `[push.limit]`: against push bombing, at most `max_concurrent` outstanding pushes per user and resource
/// within `window`.
public struct PushLimitSettings: Sendable, Equatable {
    /// `enabled`, default true.
    public var enabled: Bool
    /// `max_concurrent`, default 1, 1...100.
    public var maxConcurrent: Int
    /// `window`, default 60, 1...3600.
    public var windowSeconds: Int
    /// `exempt`, default `["radius", "ldap"]`: front ends the limit does not apply to, each one of
    /// `exemptOptions`, no duplicates. RADIUS and LDAP are the documented exception: their clients
    /// cannot show "try again later".
    public var exempt: [String]

    public static let maxConcurrentRange = 1...100
    public static let windowRange = 1...3600
    public static let exemptOptions = ["radius", "ldap", "api"]
    public static let defaultExempt = ["radius", "ldap"]

    public init(
        enabled: Bool = true, maxConcurrent: Int = 1, windowSeconds: Int = 60,
        exempt: [String] = PushLimitSettings.defaultExempt
    ) {
        self.enabled = enabled
        self.maxConcurrent = maxConcurrent
        self.windowSeconds = windowSeconds
        self.exempt = exempt
    }
}

extension PushSettings: ConfigurationSection {
    static let tableName = "push"
    static let allowedKeys = [
        "timeout", "fallback", "number_matching", "require_user_verification", PushLimitSettings.tableName, "notify",
    ]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            timeoutSeconds: try reader.integer("timeout") ?? 45,
            fallback: try reader.choice("fallback") ?? .totpChallenge,
            limit: try PushLimitSettings(
                reading: reader.table(PushLimitSettings.tableName, allowedKeys: PushLimitSettings.allowedKeys)),
            numberMatching: try reader.bool("number_matching") ?? false,
            requireUserVerification: try reader.bool("require_user_verification") ?? false,
            notify: try (reader.tables("notify", allowedKeys: PushWebhook.allowedKeys) ?? []).map {
                (webhook) throws(ConfigurationError) in try PushWebhook(reading: webhook)
            })
    }

    /// Called by `CountersignConfiguration.validate()`.
    func validate() throws(ConfigurationError) {
        if !Self.timeoutRange.contains(timeoutSeconds) {
            throw .outOfRange("push.timeout", timeoutSeconds, Self.timeoutRange)
        }
        try limit.validate()
        for (index, webhook) in notify.enumerated() { try webhook.validate(key: "push.notify[\(index)]") }
    }

    /// WebAuthn's RP ID is the page's host name: an IP address cannot be one.
    func validateUserVerification(publicURL: String) throws(ConfigurationError) {
        guard requireUserVerification, let host = URLComponents(string: publicURL)?.host else { return }
        if IPNetwork.parseAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil {
            throw .invalid(
                "push.require_user_verification",
                "needs http.public_url with a host name (WebAuthn does not work on an IP address), got \"\(publicURL)\"")
        }
    }
}

extension PushWebhook {
    static let allowedKeys = ["url", "headers"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            url: try reader.required(reader.string("url"), "url"),
            headers: try reader.stringTable("headers") ?? [:])
    }

    func validate(key: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { throw .invalid("\(key).url", "expected an http:// or https:// URL with a host") }
        // RFC 9110 §5.1 token for names; values without control characters (no header splitting).
        let token = CharacterSet(charactersIn: "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if name.isEmpty || !name.unicodeScalars.allSatisfy(token.contains) {
                throw .invalid("\(key).headers", "\"\(name)\" is not a valid header name")
            }
            if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
                throw .invalid("\(key).headers.\(name)", "must not contain control characters")
            }
        }
    }
}

extension PushLimitSettings {
    /// Nested in `[push]`.
    static let tableName = "limit"
    static let allowedKeys = ["enabled", "max_concurrent", "window", "exempt"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(
            enabled: try reader.bool("enabled") ?? true,
            maxConcurrent: try reader.integer("max_concurrent") ?? 1,
            windowSeconds: try reader.integer("window") ?? 60,
            exempt: try reader.strings("exempt")?.map(\.value) ?? Self.defaultExempt)
    }

    func validate() throws(ConfigurationError) {
        if !Self.maxConcurrentRange.contains(maxConcurrent) {
            throw .outOfRange("push.limit.max_concurrent", maxConcurrent, Self.maxConcurrentRange)
        }
        if !Self.windowRange.contains(windowSeconds) {
            throw .outOfRange("push.limit.window", windowSeconds, Self.windowRange)
        }
        var seen: [String: Int] = [:]
        for (index, name) in exempt.enumerated() {
            let key = "push.limit.exempt[\(index)]"
            if !Self.exemptOptions.contains(name) {
                let options = Self.exemptOptions.map { "\"\($0)\"" }.joined(separator: ", ")
                throw .invalid(key, "expected one of \(options), got \"\(name)\"")
            }
            if let first = seen[name] {
                throw ConfigurationError(
                    code: .duplicate, key: key, message: "\"\(name)\" is already listed at push.limit.exempt[\(first)]")
            }
            seen[name] = index
        }
    }
}
