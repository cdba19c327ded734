import Foundation
import GRDB
import MFACore

extension SQLiteStore {
    /// Holds this thread for the transaction (GRDB's synchronous write): the batches come from the caller's reader.
    public func importUsers(
        updatingExisting: Bool, at time: Date, nextBatch: () throws -> [ImportedUser]?,
        auditEvent: (ImportSummary) -> AuditEvent
    ) async throws -> ImportSummary {
        try importUsersNow(updatingExisting: updatingExisting, at: time, nextBatch: nextBatch, auditEvent: auditEvent)
    }

    /// Synchronous: the batches are produced on this thread while it holds the write transaction.
    private func importUsersNow(
        updatingExisting: Bool, at time: Date, nextBatch: () throws -> [ImportedUser]?,
        auditEvent: (ImportSummary) -> AuditEvent
    ) throws -> ImportSummary {
        let parameters = TOTPParameters.standard
        let now = time.timeIntervalSince1970
        return try database.write { db in
            // INSERT … ON CONFLICT DO NOTHING: one statement a user, and changesCount tells whether it existed.
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO users (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits,
                        totp_period, totp_enrolled_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING
                    """)
            let updatePassword = try db.makeStatement(sql: "UPDATE users SET password_hash = ? WHERE name = ?")
            let updateTOTP = try db.makeStatement(
                sql: """
                    UPDATE users SET totp_secret = ?, totp_algorithm = ?, totp_digits = ?, totp_period = ?,
                        totp_enrolled_at = ?, totp_last_step = NULL WHERE name = ?
                    """)
            let insertGroup = try db.makeStatement(
                sql: "INSERT INTO user_groups (name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
            let insertMember = try db.makeStatement(
                sql: "INSERT INTO group_members (group_name, user) VALUES (?, ?) ON CONFLICT DO NOTHING")
            let leaveGroups = try db.makeStatement(sql: "DELETE FROM group_members WHERE user = ?")
            // Groups known to exist in this transaction: each is inserted once, not once per member.
            var knownGroups: Set<String> = []
            var summary = ImportSummary()
            while let batch = try nextBatch() {
                for user in batch {
                    guard UserName.isValid(user.name) else {
                        throw StoreError(.invalidUsername, "line \(user.line): \(UserName.rule)")
                    }
                    let sealed = try user.totpSecret.map { Data(try secrets.seal($0, for: user.name)) }
                    let algorithm = sealed == nil ? nil : parameters.algorithm.rawValue
                    let digits = sealed == nil ? nil : parameters.digits
                    let period = sealed == nil ? nil : parameters.period
                    try insert.execute(arguments: [
                        user.name, user.passwordHash, now, sealed, algorithm, digits, period, sealed == nil ? nil : now,
                    ])
                    if db.changesCount == 1 {
                        summary.added += 1
                    } else {
                        guard updatingExisting else {
                            throw StoreError(.userExists, "line \(user.line): user \(user.name) already exists (--update changes it)")
                        }
                        if let hash = user.passwordHash { try updatePassword.execute(arguments: [hash, user.name]) }
                        if let sealed {
                            try updateTOTP.execute(arguments: [sealed, algorithm, digits, period, now, user.name])
                        }
                        if user.groups != nil { try leaveGroups.execute(arguments: [user.name]) }
                        summary.updated += 1
                    }
                    try user.validateGroupNames()
                    for group in user.groups ?? [] {
                        if knownGroups.insert(group).inserted {
                            try insertGroup.execute(arguments: [group, now])
                            summary.groupsCreated += db.changesCount
                        }
                        try insertMember.execute(arguments: [group, user.name])
                    }
                }
            }
            try EventRows.insert([auditEvent(summary)], db)
            return summary
        }
    }

    /// Every user in name order, one at a time (a cursor: memory stays flat), with the TOTP secret decrypted only
    /// when `includeSecrets`.
    public func forEachUser(includeSecrets: Bool, _ body: (ExportedUser) throws -> Void) async throws {
        try forEachUserNow(includeSecrets: includeSecrets, body)
    }

    private func forEachUserNow(includeSecrets: Bool, _ body: (ExportedUser) throws -> Void) throws {
        try database.read { db in
            // The groups in the same query: the primary key (user, group_name) finds a user's memberships.
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT users.name, users.password_hash IS NOT NULL AS has_password, users.totp_secret,
                        devices.id IS NOT NULL AS has_device,
                        (SELECT group_concat(group_name, ';') FROM group_members WHERE group_members.user = users.name) AS groups
                    FROM users LEFT JOIN devices ON devices.user = users.name ORDER BY users.name
                    """)
            while let row = try rows.next() {
                let name: String = row["name"]
                let sealed: Data? = row["totp_secret"]
                let groups: String? = row["groups"]
                try body(
                    ExportedUser(
                        name: name, hasPassword: row["has_password"], totpEnrolled: sealed != nil, hasDevice: row["has_device"],
                        totpSecret: try includeSecrets ? sealed.map { try secrets.open(Array($0), for: name) } : nil,
                        // group_concat's order is not promised before SQLite 3.44's ORDER BY inside it: sorted here, by
                        // bytes as the stores order names. Names hold no `;`, so the list splits back as it was.
                        groups: groups.map(Self.splitGroupList) ?? []))
            }
        }
    }

    static func splitGroupList(_ list: String) -> [String] {
        list.split(separator: ";").map(String.init).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

}
