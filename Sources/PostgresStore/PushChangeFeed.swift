import Foundation
import Logging
import MFACore
import PostgresNIO

/// What other nodes did to the pushes, heard on a connection of its own: postgres-nio's pool may close or swap its
/// connections, and a LISTEN belongs to one session (§ LISTEN). Nothing reconnects or listens again by itself, so
/// this does: after each loss it connects again, with a backoff, and says `.resynchronize` once listening again.
///
/// LISTEN comes first and `.resynchronize` after it, so the consumer's read of what is pending happens while
/// notifications are already being kept: nothing falls between the two.
struct PushChangeFeed: Sendable {
    let endpoint: PostgresEndpoint
    let database: PooledDatabase
    let logger: Logger

    /// How long to wait before connecting again: 0.5 s, doubling to 5 s; back to the start once listening.
    static let firstRetry: Duration = .milliseconds(500)
    static let longestRetry: Duration = .seconds(5)
    /// A silent network loses a connection without closing it: a statement this often finds out.
    static let probeInterval: Duration = .seconds(5)

    /// Feeds `continuation` until the task is cancelled, then finishes it.
    func run(_ continuation: AsyncStream<PushClusterChange>.Continuation) async {
        var retry = Self.firstRetry
        var connectionID = 0
        while !Task.isCancelled {
            do {
                // Migrated first: the table must exist before notifications about it are read.
                try await database.withConnection(PostgresStore.loginLimit) { _ in }
                connectionID += 1
                let connection = try await PostgresConnection.connect(
                    configuration: try endpoint.connectionConfiguration(applicationName: PostgresEndpoint.feedApplicationName),
                    id: connectionID, logger: PostgresConnection.quiet)
                do {
                    try await listen(on: connection, continuation) { retry = Self.firstRetry }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "push notifications interrupted", metadata: ["error": "\(StoreErrors.map(error))", "retry": "\(retry.formatted)"])
            }
            try? await Task.sleep(for: retry)
            retry = min(retry * 2, Self.longestRetry)
        }
        continuation.finish()
    }

    /// Returns when the connection is lost (or throws); `listening` is called once LISTEN has been answered.
    private func listen(
        on connection: PostgresConnection, _ continuation: AsyncStream<PushClusterChange>.Continuation,
        listening: () -> Void
    ) async throws {
        try await connection.listen(on: PostgresStore.pushChannel) { notifications in
            listening()
            continuation.yield(.resynchronize)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await notification in notifications {
                        if let change = try await Self.change(notification.payload, connection) { continuation.yield(change) }
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: Self.probeInterval)
                        do {
                            try await Deadline.run(PostgresStore.loginLimit) { try await connection.run("SELECT 1") }
                        } catch {
                            // Closed, so that a read of a notification's row waiting on it fails too, and the
                            // group can end.
                            try? await connection.close()
                            throw error
                        }
                    }
                }
                // Whichever ends first (the notifications stop, a probe fails) means the connection is gone.
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// The change a payload announces, read from the row on the same connection (so in the order announced); nil
    /// when the push is gone already or the payload is not one of ours.
    static func change(_ payload: String, _ connection: PostgresConnection) async throws -> PushClusterChange? {
        guard let colon = payload.firstIndex(of: ":") else { return nil }
        let id = String(payload[payload.index(after: colon)...])
        switch payload[..<colon] {
        case "created":
            return try await PostgresStore.push(id: id, connection).map { .created($0) }
        case "resolved":
            guard let push = try await PostgresStore.push(id: id, connection), let outcome = push.outcome else { return nil }
            return .resolved(pushID: id, outcome: outcome, number: push.number)
        case "seen":
            return .deviceSeen(deviceID: id)
        default:
            return nil
        }
    }
}
