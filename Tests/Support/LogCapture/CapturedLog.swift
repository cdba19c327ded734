import Logging
import Synchronization

/// Every event logged through `logger(label:)`, kept for a test to read (the tests' one capturing `LogHandler`).
public final class CapturedLog: Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        /// The call's own metadata.
        public let metadata: Logger.Metadata
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    public var all: [Entry] { entries.withLock { $0 } }

    /// What was logged since the last take.
    public func take() -> [Entry] { entries.withLock { entries in defer { entries = [] }; return entries } }

    /// A logger at level trace whose events are kept here.
    public func logger(label: String) -> Logger { Logger(label: label) { _ in Handler(log: self) } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let entry = Entry(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:])
            log.entries.withLock { $0.append(entry) }
        }
    }
}
