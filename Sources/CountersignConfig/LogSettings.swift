/// Logging: `[log]`.
public struct LogSettings: Sendable, Equatable {
    /// `log.level`, default `.info`.
    public var level: LogLevel
    /// `log.format`, default `.text`.
    public var format: LogFormat

    public init(level: LogLevel = .info, format: LogFormat = .text) {
        self.level = level
        self.format = format
    }
}

/// Minimum severity logged; the same names as swift-log's `Logger.Level`.
public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// `text` for people, `json` (one object per line) for log collectors.
public enum LogFormat: String, Sendable, Equatable, CaseIterable {
    case text, json
}

extension LogSettings: ConfigurationSection {
    static let tableName = "log"
    static let allowedKeys = ["level", "format"]

    init(reading reader: TableReader) throws(ConfigurationError) {
        self.init(level: try reader.choice("level") ?? .info, format: try reader.choice("format") ?? .text)
    }
}
