import Foundation
import MFACore
import PostgresNIO

/// Challenge States, issued on one node and taken once on any.
extension PostgresStore {
    /// Keeps the challenge unless `capacity` unexpired ones are kept already (counted up to `capacity` only, on the
    /// expiry index). Expired rows are deleted now and then, off the login's path.
    public func issueChallenge(stateHash: [UInt8], _ challenge: StoredChallenge, capacity: Int, now: Date) async throws -> Bool {
        let hash = ByteBuffer(bytes: stateHash)
        let now = now.timeIntervalSince1970
        let grantJSON = challenge.grant == Grant() ? nil : String(decoding: try JSONEncoder().encode(challenge.grant), as: UTF8.self)
        let primaryState = challenge.primaryState.map { ByteBuffer(bytes: $0) }
        if challengePrune.isDue() {
            inBackground("deleting expired challenges") {
                try await self.database.withConnection(Self.backgroundLimit) { connection in
                    try await connection.run("DELETE FROM challenges WHERE expires <= \(now)")
                }
            }
        }
        return try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row(
                """
                INSERT INTO challenges (
                    state_hash, username, resource_kind, resource_name, client_address, expires, push_id, grant_json, primary_state)
                SELECT \(hash), \(challenge.username), \(challenge.resource.kind.rawValue), \(challenge.resource.name),
                    \(challenge.clientAddress), \(challenge.expires.timeIntervalSince1970), \(challenge.pushID),
                    \(grantJSON), \(primaryState)
                WHERE (SELECT count(*) FROM (SELECT 1 FROM challenges WHERE expires > \(now) LIMIT \(Int64(capacity))) AS kept)
                    < \(Int64(capacity))
                RETURNING 1 AS issued
                """) != nil
        }
    }

    /// DELETE … RETURNING: of two nodes taking the same State at once, one gets it.
    public func takeChallenge(stateHash: [UInt8]) async throws -> StoredChallenge? {
        let hash = ByteBuffer(bytes: stateHash)
        return try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row(
                """
                DELETE FROM challenges WHERE state_hash = \(hash)
                RETURNING username, resource_kind, resource_name, client_address, expires, push_id, grant_json, primary_state
                """
            ).map(StoredChallenge.init(row:))
        }
    }
}
