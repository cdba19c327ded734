import Foundation

/// What admins change in the console without a restart, kept as one settings row (JSON): each field that is nil
/// leaves the configuration's value in force.
public struct GatewaySettings: Sendable, Equatable, Codable {
    /// `[push.limit]` as a whole.
    public var pushLimit: PushLimiter.Settings?
    /// `mfa.unenrolled = "allow"`.
    public var allowUnenrolled: Bool?

    public init(pushLimit: PushLimiter.Settings? = nil, allowUnenrolled: Bool? = nil) {
        self.pushLimit = pushLimit
        self.allowUnenrolled = allowUnenrolled
    }

    /// The values in force: these overrides on top of the configuration's.
    public func applied(to defaults: EffectiveGatewaySettings) -> EffectiveGatewaySettings {
        EffectiveGatewaySettings(
            pushLimit: pushLimit ?? defaults.pushLimit, allowUnenrolled: allowUnenrolled ?? defaults.allowUnenrolled)
    }
}

/// The settings a login decides with: the store's overrides applied to the configuration.
public struct EffectiveGatewaySettings: Sendable, Equatable {
    public var pushLimit: PushLimiter.Settings
    public var allowUnenrolled: Bool

    public init(pushLimit: PushLimiter.Settings, allowUnenrolled: Bool) {
        self.pushLimit = pushLimit
        self.allowUnenrolled = allowUnenrolled
    }
}

extension PushLimiter.Settings: Codable {
    enum CodingKeys: String, CodingKey {
        case enabled, maxConcurrent = "max_concurrent", window = "window_seconds", exempt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            enabled: try container.decode(Bool.self, forKey: .enabled),
            maxConcurrent: try container.decode(Int.self, forKey: .maxConcurrent),
            window: try container.decode(TimeInterval.self, forKey: .window),
            // A kind this version does not know is dropped rather than failing the whole row.
            exempt: Set(try container.decode([String].self, forKey: .exempt).compactMap(Resource.Kind.init(rawValue:))))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(maxConcurrent, forKey: .maxConcurrent)
        try container.encode(window, forKey: .window)
        try container.encode(exempt.map(\.rawValue).sorted(), forKey: .exempt)
    }
}

extension StoreConventions {
    /// The settings row of `GatewaySettings` (JSON).
    public static let gatewaySettingsSetting = "gateway-settings"

    public static func encode(_ settings: GatewaySettings) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Plain fields only: encoding cannot fail.
        return Array(try! encoder.encode(settings))
    }

    /// An absent row is no override; a row that does not parse is reported, not taken for defaults silently.
    public static func decodeGatewaySettings(_ bytes: [UInt8]?) throws -> GatewaySettings {
        guard let bytes else { return GatewaySettings() }
        do {
            return try JSONDecoder().decode(GatewaySettings.self, from: Data(bytes))
        } catch {
            throw StoreError(.io, "the settings row \(gatewaySettingsSetting) does not parse: \(error)")
        }
    }
}
