import Foundation
import MFACore
import PostgresNIO

/// Bulk import and export.
extension PostgresStore {
    /// Imports users in one transaction: all of them, or (on any error) none. Each batch `nextBatch` makes is inserted
    /// by one statement (INSERT … ON CONFLICT DO NOTHING RETURNING tells which names were new), so a file streams
    /// through in a few round trips; the errors are SQLiteStore's, for the same line.
    public func importUsers(
        updatingExisting: Bool, at time: Date, nextBatch: () throws -> [ImportedUser]?,
        auditEvent: (ImportSummary) -> AuditEvent
    ) async throws -> ImportSummary {
        try await database.withUnboundedConnection(readyWithin: Self.adminLimit) { connection in
            try await connection.transaction { connection in
                var summary = ImportSummary()
                var knownGroups: Set<String> = []
                while let batch = try nextBatch() {
                    // Rows up to the first invalid name go in first, so that an existing user before it is the error,
                    // as it would be line by line.
                    let firstInvalid = batch.firstIndex { !UserName.isValid($0.name) }
                    var rest = batch[..<(firstInvalid ?? batch.endIndex)]
                    while !rest.isEmpty {
                        let chunk = rest.prefix(Self.importChunk)
                        rest = rest.dropFirst(chunk.count)
                        try await importChunk(
                            Array(chunk), updatingExisting: updatingExisting, at: time, into: &summary, knownGroups: &knownGroups,
                            connection)
                    }
                    if let firstInvalid { throw StoreError(.invalidUsername, "line \(batch[firstInvalid].line): \(UserName.rule)") }
                }
                try await connection.run(Self.insertEvents([auditEvent(summary)]))
                return summary
            }
        }
    }

    /// Users a statement inserts: eight parameters each, well below the protocol's 65535.
    static let importChunk = 1000

    private func importChunk(
        _ users: [ImportedUser], updatingExisting: Bool, at time: Date, into summary: inout ImportSummary,
        knownGroups: inout Set<String>, _ connection: PostgresConnection
    ) async throws {
        let now = time.timeIntervalSince1970
        let parameters = TOTPParameters.standard
        var sealed: [ByteBuffer?] = []
        var bindings = PostgresBindings(capacity: users.count * 8)
        var rows: [String] = []
        for (index, user) in users.enumerated() {
            let secret = try user.totpSecret.map { ByteBuffer(bytes: try secrets.seal($0, for: user.name)) }
            sealed.append(secret)
            rows.append("(" + (1...8).map { "$\(index * 8 + $0)" }.joined(separator: ", ") + ")")
            bindings.append(user.name)
            bindings.append(user.passwordHash)
            bindings.append(now)
            bindings.append(secret)
            bindings.append(secret == nil ? nil : parameters.algorithm.rawValue)
            bindings.append(secret == nil ? nil : Int64(parameters.digits))
            bindings.append(secret == nil ? nil : Int64(parameters.period))
            bindings.append(secret == nil ? nil : now)
        }
        let inserted = try await connection.rows(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO users (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits, totp_period,
                        totp_enrolled_at)
                    VALUES \(rows.joined(separator: ", ")) ON CONFLICT (name) DO NOTHING RETURNING name
                    """, binds: bindings)
        ).map { try $0.get("name", as: String.self) }
        // A name twice in the file: its first row was inserted, the second finds it existing.
        var new = Set(inserted)
        // Who leaves every group first (an update with the column), then the chunk's memberships in one statement.
        var leaving: [String] = []
        for (user, secret) in zip(users, sealed) {
            try user.validateGroupNames()
            if new.remove(user.name) != nil {
                summary.added += 1
                continue
            }
            guard updatingExisting else {
                throw StoreError(.userExists, "line \(user.line): user \(user.name) already exists (--update changes it)")
            }
            if let hash = user.passwordHash {
                try await connection.run("UPDATE users SET password_hash = \(hash) WHERE name = \(user.name)")
            }
            if let secret {
                try await connection.run(
                    """
                    UPDATE users SET totp_secret = \(secret), totp_algorithm = \(parameters.algorithm.rawValue),
                        totp_digits = \(Int64(parameters.digits)), totp_period = \(Int64(parameters.period)), totp_enrolled_at = \(now)
                    WHERE name = \(user.name)
                    """)
            }
            if user.groups != nil { leaving.append(user.name) }
            summary.updated += 1
        }
        if !leaving.isEmpty { try await connection.run("DELETE FROM group_members WHERE username = ANY(\(leaving))") }
        try await addMemberships(of: users, at: now, into: &summary, knownGroups: &knownGroups, connection)
    }

    /// The groups `users` name, made when missing (each once per import), and their memberships.
    private func addMemberships(
        of users: [ImportedUser], at now: Double, into summary: inout ImportSummary, knownGroups: inout Set<String>,
        _ connection: PostgresConnection
    ) async throws {
        var groupColumn: [String] = []
        var userColumn: [String] = []
        var newGroups: [String] = []
        for user in users {
            for group in user.groups ?? [] {
                if knownGroups.insert(group).inserted { newGroups.append(group) }
                groupColumn.append(group)
                userColumn.append(user.name)
            }
        }
        if !newGroups.isEmpty {
            summary.groupsCreated += try await connection.rows(
                """
                INSERT INTO user_groups (name, created_at) SELECT unnest(\(newGroups)::text[]), \(now)
                ON CONFLICT (name) DO NOTHING RETURNING name
                """
            ).count
        }
        if !groupColumn.isEmpty {
            try await connection.run(
                """
                INSERT INTO group_members (group_name, username) SELECT * FROM unnest(\(groupColumn)::text[], \(userColumn)::text[])
                ON CONFLICT DO NOTHING
                """)
        }
    }

    /// Every user in name order, one row at a time as the server sends them (memory stays flat), the TOTP secret
    /// opened only when `includeSecrets`.
    public func forEachUser(includeSecrets: Bool, _ body: (ExportedUser) throws -> Void) async throws {
        try await database.withUnboundedConnection(readyWithin: Self.adminLimit) { connection in
            // The groups in the same query, in name order: the primary key (username, group_name) finds them.
            let rows = try await connection.query(
                """
                SELECT users.name, users.password_hash IS NOT NULL AS has_password, users.totp_secret,
                    devices.id IS NOT NULL AS has_device,
                    ARRAY(SELECT group_name FROM group_members WHERE group_members.username = users.name ORDER BY group_name)
                        AS groups
                FROM users LEFT JOIN devices ON devices.username = users.name ORDER BY users.name
                """, logger: PostgresConnection.quiet)
            for try await row in rows {
                let row = row.makeRandomAccess()
                let name = try row.get("name", as: String.self)
                let sealed = try row.bytes("totp_secret")
                try body(
                    ExportedUser(
                        name: name, hasPassword: try row.get("has_password"), totpEnrolled: sealed != nil,
                        hasDevice: try row.get("has_device"),
                        totpSecret: try includeSecrets ? sealed.map { try secrets.open($0, for: name) } : nil,
                        groups: try row.get("groups")))
            }
        }
    }
}
