import CountersignConfig
import Logging

extension LoggingSystem {
    /// Sets up the process's logging from `[log]`: level, and text or JSON lines on stderr.
    public static func bootstrap(_ settings: LogSettings) {
        let level = Logger.Level(rawValue: settings.level.rawValue) ?? .info
        bootstrap { label in
            var handler: any LogHandler =
                switch settings.format {
                case .json: JSONLogHandler(label: label)
                case .text: StreamLogHandler.standardError(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}
