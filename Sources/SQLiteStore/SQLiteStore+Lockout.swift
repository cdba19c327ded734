import Foundation
import GRDB
import MFACore

/// Consecutive failures and lockouts, counted in the store so that they hold across restarts and nodes.
extension SQLiteStore {
    /// Counts a failed password or second factor. Returns true when this failure locked the user (the caller writes
    /// `user_locked` once).
    public func recordFailure(for username: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        try await groupCommit.write(.singleStatement) { db in
            try Self.countFailure(in: "users", of: username, now: now, policy: policy, db)
        }
    }

    /// The lockout rule on a table of accounts (`users`, `admins`): a read, then one of two updates.
    static func countFailure(in table: String, of name: String, now: Date, policy: LockoutPolicy, _ db: Database) throws -> Bool {
        guard
            let row = try Row.fetchOne(db, sql: "SELECT failed_attempts, failed_since FROM \(table) WHERE name = ?", arguments: [name])
        else { return false }
        var failures: Int = row["failed_attempts"]
        var since: Double? = row["failed_since"]
        if let start = since, now.timeIntervalSince1970 - start <= policy.window {
            failures += 1
        } else {
            failures = 1
            since = now.timeIntervalSince1970
        }
        guard failures >= policy.maxFailures else {
            try db.execute(
                sql: "UPDATE \(table) SET failed_attempts = ?, failed_since = ? WHERE name = ?", arguments: [failures, since, name])
            return false
        }
        try db.execute(
            sql: "UPDATE \(table) SET failed_attempts = 0, failed_since = NULL, locked_until = ? WHERE name = ?",
            arguments: [now.timeIntervalSince1970 + policy.duration, name])
        return true
    }

    /// A success ends the run of failures (one conditional write: nothing when there was none). Queued, not awaited:
    /// the login's reply does not wait for it, and a later failure of the same user is written after it.
    public func clearFailures(for username: String) async throws {
        groupCommit.enqueue(.singleStatement, { db in
            try db.cachedStatement(
                sql: """
                    UPDATE users SET failed_attempts = 0, failed_since = NULL, locked_until = NULL
                    WHERE name = ? AND (failed_attempts > 0 OR locked_until IS NOT NULL)
                    """
            ).execute { $0.bind(username) }
        }, failed: { self.backgroundWriteFailed("clearing failed attempts", $0) })
    }

    /// `countersign user unlock NAME`.
    public func unlock(_ username: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE users SET failed_attempts = 0, failed_since = NULL, locked_until = NULL WHERE name = ?",
                arguments: [username])
            if db.changesCount == 0 { throw StoreError(.noSuchUser, "no user \(username)") }
        }
    }
}
