import Foundation
import Logging
import MFACore
import PostgresNIO

/// One NOTIFY channel, heard on a connection of its own: postgres-nio's pool may close or swap its connections, and a
/// LISTEN belongs to one session (§ LISTEN). Nothing reconnects or listens again by itself, so this does: after each
/// loss it connects again, with a backoff, and calls `listening` once listening again.
///
/// LISTEN comes first and `listening` after it, so what the consumer reads afresh then is read while notifications
/// are already being kept: nothing falls between the two.
struct NotificationFeed: Sendable {
    let endpoint: PostgresEndpoint
    let database: PooledDatabase
    let logger: Logger
    let channel: String
    /// For the log line when the connection is lost: "push notifications".
    let what: String

    /// How long to wait before connecting again: 0.5 s, doubling to 5 s; back to the start once listening.
    static let firstRetry: Duration = .milliseconds(500)
    static let longestRetry: Duration = .seconds(5)
    /// A silent network loses a connection without closing it: a statement this often finds out.
    static let probeInterval: Duration = .seconds(5)

    /// Listens until the task is cancelled. `listening` after each LISTEN is answered, `heard` for each notification
    /// (on the same connection, in the order sent), `lost` when the connection went.
    func run(
        listening: @escaping @Sendable () -> Void, heard: @escaping @Sendable (String, PostgresConnection) async throws -> Void,
        lost: @escaping @Sendable () -> Void = {}
    ) async {
        var retry = Self.firstRetry
        var connectionID = 0
        while !Task.isCancelled {
            do {
                // Migrated first: the tables must exist before notifications about them are read.
                try await database.withConnection(PostgresStore.loginLimit) { _ in }
                connectionID += 1
                let connection = try await PostgresConnection.connect(
                    configuration: try endpoint.connectionConfiguration(applicationName: PostgresEndpoint.feedApplicationName),
                    id: connectionID, logger: PostgresConnection.quiet)
                do {
                    try await listen(on: connection, heard: heard) {
                        retry = Self.firstRetry
                        listening()
                    }
                } catch {
                    lost()
                    try? await connection.close()
                    throw error
                }
                lost()
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "\(what) interrupted", metadata: ["error": "\(StoreErrors.map(error))", "retry": "\(retry.formatted)"])
            }
            try? await Task.sleep(for: retry)
            retry = min(retry * 2, Self.longestRetry)
        }
    }

    /// Returns when the connection is lost (or throws); `listening` is called once LISTEN has been answered.
    private func listen(
        on connection: PostgresConnection, heard: @escaping @Sendable (String, PostgresConnection) async throws -> Void,
        listening: () -> Void
    ) async throws {
        try await connection.listen(on: channel) { notifications in
            listening()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await notification in notifications { try await heard(notification.payload, connection) }
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
}

/// What other nodes did to the pushes: `countersign_push`'s payloads turned into changes.
enum PushChangeFeed {
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

/// What the `countersign_credentials` feed heard since the credentials cache last looked. While the feed is not
/// listening nothing can be known, so every look says `.all` and nothing stays cached.
final class HeardCredentialChanges: Sendable {
    private struct State {
        var listening = false
        /// Listening again after a gap: whatever changed meanwhile went unheard.
        var resumed = false
        var users: [String] = []
        /// For tests: notifications heard in all, and the count at each user's last one (once `mark()` asked).
        var heardCount = 0
        var lastHeard: [String: Int]?
        var waiters: [Waiter] = []

        /// The waiters whose wait is over, taken out.
        mutating func satisfied() -> [Waiter] {
            let (done, waiting) = waiters.reduce(into: ([Waiter](), [Waiter]())) { split, waiter in
                if isOver(waiter) { split.0.append(waiter) } else { split.1.append(waiter) }
            }
            waiters = waiting
            return done
        }

        func isOver(_ waiter: Waiter) -> Bool {
            guard let user = waiter.user else { return listening }
            return (lastHeard?[user] ?? 0) > waiter.after
        }
    }

    /// A test waiting until the feed listens (`user` nil) or until it heard of `user` after the mark `after`.
    private struct Waiter {
        let user: String?
        let after: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private let state = Locked(State())
    /// More than this heard before a look: dropping everything costs less than keeping them.
    static let mostKept = 1024

    func listening() {
        let done = state.withLock { state in
            state.listening = true
            state.resumed = true
            state.users = []
            return state.satisfied()
        }
        for waiter in done { waiter.continuation.resume() }
    }

    func lost() {
        state.withLock { $0.listening = false }
    }

    func heard(_ user: String) {
        let done = state.withLock { state in
            if state.users.count < Self.mostKept { state.users.append(user) } else { state.resumed = true }
            state.heardCount += 1
            guard state.lastHeard != nil else { return [Waiter]() }
            state.lastHeard?[user] = state.heardCount
            return state.satisfied()
        }
        for waiter in done { waiter.continuation.resume() }
    }

    /// For tests: a mark to wait from (`waitUntilHeard(_:after:)`); from the first mark on, who was heard of is kept.
    func mark() -> Int {
        state.withLock { state in
            if state.lastHeard == nil { state.lastHeard = [:] }
            return state.heardCount
        }
    }

    /// For tests: returns once a notification about `user` was heard after `mark`.
    func waitUntilHeard(_ user: String, after mark: Int) async {
        await wait(for: user, after: mark)
    }

    /// For tests: returns once the feed listens.
    func waitUntilListening() async {
        await wait(for: nil, after: 0)
    }

    private func wait(for user: String?, after mark: Int) async {
        await withCheckedContinuation { continuation in
            let waiter = Waiter(user: user, after: mark, continuation: continuation)
            let over = state.withLock { state in
                if state.isOver(waiter) { return true }
                state.waiters.append(waiter)
                return false
            }
            if over { continuation.resume() }
        }
    }

    func look() -> CredentialChanges {
        state.withLock { state in
            defer {
                state.resumed = false
                state.users = []
            }
            if !state.listening || state.resumed { return .all }
            return state.users.isEmpty ? .none : .users(state.users)
        }
    }
}
