import DeviceProtocol
import Foundation
import MFACore
import PostgresNIO

/// Pending pushes and their outcomes, shared by the nodes. Every change is announced on `countersign_push` with
/// NOTIFY in the transaction that makes it, so it is heard once committed and never before (§ NOTIFY).
extension PostgresStore {
    /// The NOTIFY channel: payloads `created:<id>`, `resolved:<id>` and `seen:<device id>`.
    static let pushChannel = "countersign_push"
    /// The advisory lock class of the limiter (two-key form, apart from the migrations' 64-bit key space, §9.27.10).
    static let limiterLockClass: Int32 = 0x5055_5348  // "PUSH"
    /// Resolved pushes are kept this long for `push(id:)` (a late answer, the challenge response of number matching).
    static let resolvedPushesKept: TimeInterval = 86_400

    /// In one transaction, under an advisory lock on the user and resource when the limiter applies: the pending
    /// push with the join key, if any, is joined (an expired one that nobody resolved, its node stopped, is timed out
    /// first); else the limiter counts the pending pushes of the user and resource on every node; then INSERT … ON
    /// CONFLICT on the pending join key, which settles two nodes publishing the same attempt at once.
    public func publish(_ push: SharedPush, limit: PushLimiter.Settings, now: Date) async throws -> PushPublication {
        let message = String(decoding: try JSONEncoder().encode(push.message), as: UTF8.self)
        let now = now.timeIntervalSince1970
        if pushPrune.isDue() { pruneResolvedPushes(before: now - Self.resolvedPushesKept) }
        return try await database.transaction(Self.loginLimit) { connection in
            let user = push.message.user
            let kind = push.resource.kind.rawValue
            let name = push.resource.name
            let counted = limit.enabled && !limit.exempt.contains(push.resource.kind)
            if counted {
                // Taken first: a publish of the same attempt that commits while this one waits is joined below, not
                // counted against it.
                // Unit separators: a user name holds no control character (UserName), and text holds no NUL.
                let pair = user + "\u{1F}" + kind + "\u{1F}" + name
                try await connection.run("SELECT pg_advisory_xact_lock(\(Self.limiterLockClass), hashtext(\(pair)))")
            }
            if let joinKey = push.joinKey {
                try await connection.run(
                    """
                    WITH expired AS (
                        UPDATE pushes SET outcome = \(PushCoordinator.Outcome.timedOut.rawValue), resolved_at = \(now)
                        WHERE join_key = \(joinKey) AND outcome IS NULL AND expires <= \(now) RETURNING id
                    )
                    SELECT pg_notify(\(Self.pushChannel), 'resolved:' || id) FROM expired
                    """)
                // The same attempt arriving at another node waits for the push it began, limiter or not.
                if let existing = try await Self.pendingPush(joinKey: joinKey, connection) { return .joined(existing) }
            }
            if counted {
                let pending = try await connection.row(
                    """
                    SELECT count(*) AS pending FROM pushes
                    WHERE username = \(user) AND resource_kind = \(kind) AND resource_name = \(name) AND outcome IS NULL
                        AND expires > \(now) AND created > \(now - limit.window)
                    """)
                if try pending?.get("pending", as: Int64.self) ?? 0 >= Int64(limit.maxConcurrent) { return .limited }
            }
            // A conflict that finds no pending push: it was resolved between the INSERT and the read; try again.
            for _ in 0..<3 {
                let created = try await connection.row(
                    """
                    WITH created AS (
                        INSERT INTO pushes (id, device_id, username, resource_kind, resource_name, join_key, message,
                            device_public_key, webauthn_credential_id, webauthn_public_key, number_matching, created, expires)
                        VALUES (\(push.message.id), \(push.message.deviceID), \(user), \(kind), \(name), \(push.joinKey),
                            \(message), \(push.devicePublicKey), \(push.webAuthn?.id), \(push.webAuthn?.publicKey),
                            \(push.numberMatching), \(now), \(Double(push.message.expires)))
                        ON CONFLICT (join_key) WHERE outcome IS NULL DO NOTHING
                        RETURNING id
                    )
                    SELECT pg_notify(\(Self.pushChannel), 'created:' || id) FROM created
                    """)
                if created != nil { return .created }
                // The pending push with this key, committed by now: the INSERT waited for it.
                if let joinKey = push.joinKey, let existing = try await Self.pendingPush(joinKey: joinKey, connection) {
                    return .joined(existing)
                }
            }
            throw StoreError(.io, "the push could neither be stored nor joined")
        }
    }

    /// The first outcome wins: a conditional UPDATE, announced in the same statement.
    public func resolve(pushID: String, outcome: PushCoordinator.Outcome, number: String?) async throws -> Bool {
        let now = Date().timeIntervalSince1970
        return try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row(
                """
                WITH resolved AS (
                    UPDATE pushes SET outcome = \(outcome.rawValue), number = \(number), resolved_at = \(now)
                    WHERE id = \(pushID) AND outcome IS NULL RETURNING id
                )
                SELECT pg_notify(\(Self.pushChannel), 'resolved:' || id) FROM resolved
                """) != nil
        }
    }

    /// A NOTIFY alone (`seen:<device id>`): presence is news, not a record.
    public func announceDevice(_ deviceID: String) async throws {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.run("SELECT pg_notify(\(Self.pushChannel), 'seen:' || \(deviceID))")
        }
    }

    public func pendingPushes(now: Date) async throws -> [SharedPush] {
        let now = now.timeIntervalSince1970
        return try await database.withConnection(Self.loginLimit) { connection in
            try await Self.pendingPushes(now: now, connection)
        }
    }

    public func push(id: String) async throws -> SharedPush? {
        try await database.withConnection(Self.loginLimit) { connection in try await Self.push(id: id, connection) }
    }

    /// Changes as they happen, from a LISTEN connection of this stream's own (NotificationFeed): each call opens one,
    /// so several consumers may each call it. It ends when the consumer stops iterating or the store closes.
    public func changes() -> AsyncStream<PushClusterChange> {
        let (stream, continuation) = AsyncStream.makeStream(of: PushClusterChange.self)
        let id = UUID()
        let feed = NotificationFeed(
            endpoint: endpoint, database: database, logger: logger, channel: Self.pushChannel, what: "push notifications")
        let task = Task {
            await feed.run(listening: { continuation.yield(.resynchronize) }) { payload, connection in
                if let change = try await PushChangeFeed.change(payload, connection) { continuation.yield(change) }
            }
            continuation.finish()
            self.feeds.withLock { $0[id] = nil }
        }
        feeds.withLock { $0[id] = task }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    static func pendingPushes(now: Double, _ connection: PostgresConnection) async throws -> [SharedPush] {
        try await connection.rows("SELECT * FROM pushes WHERE outcome IS NULL AND expires > \(now) ORDER BY created, id")
            .map(SharedPush.init(row:))
    }

    static func pendingPush(joinKey: String, _ connection: PostgresConnection) async throws -> SharedPush? {
        try await connection.row("SELECT * FROM pushes WHERE join_key = \(joinKey) AND outcome IS NULL").map(SharedPush.init(row:))
    }

    static func push(id: String, _ connection: PostgresConnection) async throws -> SharedPush? {
        try await connection.row("SELECT * FROM pushes WHERE id = \(id)").map(SharedPush.init(row:))
    }

    /// Resolved pushes older than a day, and pending ones a day past their expiry (their node stopped).
    private func pruneResolvedPushes(before cutoff: Double) {
        inBackground("deleting old pushes") {
            try await self.database.withConnection(Self.backgroundLimit) { connection in
                try await connection.run(
                    "DELETE FROM pushes WHERE (outcome IS NOT NULL AND resolved_at < \(cutoff)) OR expires < \(cutoff)")
            }
        }
    }
}
