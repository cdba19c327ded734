import Foundation
import GRDB
import MFACore

/// Portal invitations: only a token's SHA-256 is stored.
extension SQLiteStore {
    public func createInvitation(_ token: String, for user: String, expires: Date) async throws {
        try await database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)", arguments: [user]) == true else {
                throw StoreError(.noSuchUser, "no user \(user)")
            }
            try db.execute(sql: "DELETE FROM invitations WHERE user = ?", arguments: [user])
            try db.execute(
                sql: "INSERT INTO invitations (token_hash, user, expires) VALUES (?, ?, ?)",
                arguments: [Data(StoreConventions.enrollmentCodeHash(token)), user, expires.timeIntervalSince1970])
        }
    }

    /// Reading and deleting in one write transaction: the token works once even under a race.
    public func redeemInvitation(_ token: String, now: Date) async throws -> String? {
        try await database.write { db in
            let hash = Data(StoreConventions.enrollmentCodeHash(token))
            guard let row = try Row.fetchOne(db, sql: "SELECT user, expires FROM invitations WHERE token_hash = ?", arguments: [hash])
            else { return nil }
            try db.execute(sql: "DELETE FROM invitations WHERE token_hash = ?", arguments: [hash])
            return now.timeIntervalSince1970 < row["expires"] ? row["user"] : nil
        }
    }
}
