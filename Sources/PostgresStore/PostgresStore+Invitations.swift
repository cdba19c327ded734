import Foundation
import MFACore
import PostgresNIO

/// Portal invitations: only a token's SHA-256 is stored; they go with their user (ON DELETE CASCADE).
extension PostgresStore {
    public func createInvitation(_ token: String, for user: String, expires: Date) async throws {
        let hash = ByteBuffer(bytes: StoreConventions.enrollmentCodeHash(token))
        try await database.withConnection(Self.adminLimit) { connection in
            let row = try await connection.row("SELECT EXISTS (SELECT 1 FROM users WHERE name = \(user)) AS user_exists")
            guard try row?.get("user_exists", as: Bool.self) == true else { throw StoreError(.noSuchUser, "no user \(user)") }
            try await connection.run(
                """
                INSERT INTO invitations (token_hash, username, expires) VALUES (\(hash), \(user), \(expires.timeIntervalSince1970))
                ON CONFLICT (username) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires = EXCLUDED.expires
                """)
        }
    }

    /// DELETE … RETURNING hands the row to one caller only, also across nodes.
    public func redeemInvitation(_ token: String, now: Date) async throws -> String? {
        let hash = ByteBuffer(bytes: StoreConventions.enrollmentCodeHash(token))
        let row = try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row("DELETE FROM invitations WHERE token_hash = \(hash) RETURNING username, expires")
        }
        guard let row, now.timeIntervalSince1970 < (try row.get("expires", as: Double.self)) else { return nil }
        return try row.get("username", as: String.self)
    }
}
