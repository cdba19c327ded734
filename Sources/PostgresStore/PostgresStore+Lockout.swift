import Foundation
import MFACore

/// Consecutive failures and lockouts, counted in the shared store so that they hold across restarts and nodes.
extension PostgresStore {
    /// Counts a failed password or second factor in one statement, with SQLiteStore's window rule: a failure within
    /// `window` of the run's first adds one, a later one starts a new run; the failure that reaches `maxFailures` locks
    /// the user and starts the count afresh. The CTE's `FOR UPDATE` waits for another node's count and then reads the
    /// row as that one left it (§13.2.1, Read Committed), so failures on several nodes count together and exactly one
    /// of them locks. Returns true for that one (the caller writes `user_locked` once).
    /// This node's next login of the user reads the count afresh, without waiting for the notification.
    public func recordFailure(for username: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        defer { credentialsCache.drop(username) }
        return try await countFailure(in: "users", of: username, now: now, policy: policy)
    }

    /// The lockout rule on a table of accounts (`users`, `admins`), in one statement.
    func countFailure(in table: String, of name: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        let now = now.timeIntervalSince1970
        let window = policy.window
        let maximum = Int64(policy.maxFailures)
        let lockedUntil = now + policy.duration
        return try await database.withConnection(Self.loginLimit) { connection in
            let row = try await connection.row(
                """
                WITH counted AS (
                    SELECT name,
                        CASE WHEN failed_since IS NOT NULL AND \(now) - failed_since <= \(window)
                            THEN failed_attempts + 1 ELSE 1 END AS failures,
                        CASE WHEN failed_since IS NOT NULL AND \(now) - failed_since <= \(window)
                            THEN failed_since ELSE \(now) END AS since
                    FROM \(unescaped: table) WHERE name = \(name) FOR UPDATE
                )
                UPDATE \(unescaped: table) AS accounts SET
                    failed_attempts = CASE WHEN counted.failures >= \(maximum) THEN 0 ELSE counted.failures END,
                    failed_since = CASE WHEN counted.failures >= \(maximum) THEN NULL ELSE counted.since END,
                    locked_until = CASE WHEN counted.failures >= \(maximum) THEN \(lockedUntil) ELSE accounts.locked_until END
                FROM counted WHERE accounts.name = counted.name
                RETURNING counted.failures >= \(maximum) AS locked
                """)
            return try row?.get("locked", as: Bool.self) ?? false
        }
    }

    /// A success ends the run of failures (one conditional write: nothing when there was none).
    public func clearFailures(for username: String) async throws {
        defer { credentialsCache.drop(username) }
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.run(
                """
                UPDATE users SET failed_attempts = 0, failed_since = NULL, locked_until = NULL
                WHERE name = \(username) AND (failed_attempts > 0 OR locked_until IS NOT NULL)
                """)
        }
    }

    /// `countersign user unlock NAME`.
    public func unlock(_ username: String) async throws {
        let found = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row(
                """
                UPDATE users SET failed_attempts = 0, failed_since = NULL, locked_until = NULL WHERE name = \(username)
                RETURNING 1 AS unlocked
                """) != nil
        }
        if !found { throw StoreError(.noSuchUser, "no user \(username)") }
    }
}
