import Foundation
import Logging
import MFACore

/// Writes each audit event as one log line (JSON when `log.format = "json"`) and queues it for the store's next
/// group commit: the reply does not wait for it; `AuditStore.flush()` does (reads of events, shutdown).
public struct AuditRecorder: AuditSink {
    private let store: any GatewayStore
    private let logger: Logger
    /// The gateway queues; an admin command, whose process ends right after, waits for the commit.
    private let queued: Bool
    /// Who else hears of each event (the gateway's status and metrics).
    private let observe: (@Sendable (AuditEvent) -> Void)?
    /// `[node] name`, written into every event.
    private let node: String

    init(
        store: any GatewayStore, node: String, logger: Logger, queued: Bool, observe: (@Sendable (AuditEvent) -> Void)? = nil
    ) {
        self.store = store
        self.node = node
        self.logger = logger
        self.queued = queued
        self.observe = observe
    }

    public func record(_ event: AuditEvent) async {
        let event = stamped(event)
        log(event)
        observe?(event)
        guard !queued else { return store.appendSoon([event]) }
        do {
            try await store.append([event])
        } catch {
            logger.error("could not store audit event", metadata: ["type": "\(event.type)", "error": "\(error)"])
        }
    }

    /// The event with this node's name.
    func stamped(_ event: AuditEvent) -> AuditEvent {
        var event = event
        if event.node == nil { event.node = node }
        return event
    }

    /// The log line alone, for an event the store wrote in the transaction it describes (an import).
    func log(_ event: AuditEvent) {
        logger.info("audit", metadata: Self.metadata(event))
    }

    static func metadata(_ event: AuditEvent) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["type": "\(event.type)", "result": "\(event.result.rawValue)"]
        if let user = event.user { metadata["user"] = "\(user)" }
        if let resource = event.resource { metadata["resource"] = "\(resource)" }
        if let client = event.clientAddress { metadata["client_address"] = "\(client)" }
        if let error = event.error { metadata["error"] = "\(error)" }
        for (key, value) in event.details { metadata["details.\(key)"] = "\(value)" }
        return metadata
    }
}
