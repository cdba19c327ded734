import Foundation
import MFACore
import PostgresNIO

/// Users, their passwords and TOTP secrets (sealed with SecretBox), and what a login reads of them.
extension PostgresStore {
    public func addUser(_ name: String, passwordHash: String?, at time: Date) async throws {
        try StoreConventions.validate(username: name)
        let added = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row(
                """
                INSERT INTO users (name, password_hash, created_at) VALUES (\(name), \(passwordHash), \(time.timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING RETURNING 1 AS added
                """) != nil
        }
        if !added { throw StoreError(.userExists, "user \(name) already exists") }
    }

    public func setPasswordHash(_ hash: String?, for name: String) async throws {
        try await updateExisting(name, "UPDATE users SET password_hash = \(hash) WHERE name = \(name) RETURNING 1 AS updated")
    }

    public func deleteUser(_ name: String) async throws {
        // Devices, enrollment codes and the used step go with the user (ON DELETE CASCADE).
        try await updateExisting(name, "DELETE FROM users WHERE name = \(name) RETURNING 1 AS deleted")
    }

    public func users() async throws -> [UserSummary] {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows("\(unescaped: UserSummary.query) ORDER BY users.name").map(UserSummary.init(row:))
        }
    }

    public func users(matching search: String?, after: String?, limit: Int) async throws -> [UserSummary] {
        // strpos and lower under COLLATE "C" are byte-wise and fold ASCII only, as SQLite's instr and lower.
        let pattern = StoreConventions.searchPattern(search)
        return try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows(
                """
                \(unescaped: UserSummary.query)
                WHERE (\(pattern)::text IS NULL OR strpos(lower(users.name), \(pattern)) > 0)
                    AND (\(after)::text IS NULL OR users.name > \(after))
                ORDER BY users.name LIMIT \(Int64(limit))
                """
            ).map(UserSummary.init(row:))
        }
    }

    public func userCounts(now: Date) async throws -> UserCounts {
        try await database.withConnection(Self.adminLimit) { connection in
            let row = try await connection.row(
                """
                SELECT count(*) AS users,
                    count(*) FILTER (WHERE totp_secret IS NOT NULL OR EXISTS (SELECT 1 FROM devices WHERE devices.username = users.name))
                        AS enrolled,
                    count(*) FILTER (WHERE locked_until > \(now.timeIntervalSince1970)) AS locked
                FROM users
                """)!
            return UserCounts(
                users: Int(try row.get("users", as: Int64.self)), enrolled: Int(try row.get("enrolled", as: Int64.self)),
                locked: Int(try row.get("locked", as: Int64.self)))
        }
    }

    public func user(_ name: String) async throws -> UserSummary? {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("\(unescaped: UserSummary.query) WHERE users.name = \(name)").map(UserSummary.init(row:))
        }
    }

    // MARK: TOTP

    /// Refused while the user has a secret (delete it first), so a secret already in an app is never silently
    /// replaced. One conditional UPDATE; when it changes nothing, a second look says why.
    public func enrollTOTP(_ enrollment: TOTPEnrollment, for name: String, at time: Date) async throws {
        let sealed = ByteBuffer(bytes: try secrets.seal(enrollment.secret, for: name))
        let parameters = enrollment.parameters
        try await database.withConnection(Self.adminLimit) { connection in
            let enrolled = try await connection.row(
                """
                UPDATE users SET totp_secret = \(sealed), totp_algorithm = \(parameters.algorithm.rawValue),
                    totp_digits = \(Int64(parameters.digits)), totp_period = \(Int64(parameters.period)),
                    totp_enrolled_at = \(time.timeIntervalSince1970)
                WHERE name = \(name) AND totp_secret IS NULL RETURNING 1 AS enrolled
                """)
            if enrolled != nil { return }
            guard try await connection.row("SELECT 1 AS found FROM users WHERE name = \(name)") != nil else {
                throw StoreError(.noSuchUser, "no user \(name)")
            }
            throw StoreError(.alreadyEnrolled, "user \(name) already has TOTP; delete it first")
        }
    }

    public func deleteTOTP(for name: String) async throws {
        try await database.withConnection(Self.adminLimit) { connection in
            let deleted = try await connection.row(
                """
                UPDATE users SET totp_secret = NULL, totp_algorithm = NULL, totp_digits = NULL, totp_period = NULL,
                    totp_enrolled_at = NULL
                WHERE name = \(name) AND totp_secret IS NOT NULL RETURNING 1 AS deleted
                """)
            if deleted != nil { return }
            guard try await connection.row("SELECT 1 AS found FROM users WHERE name = \(name)") != nil else {
                throw StoreError(.noSuchUser, "no user \(name)")
            }
            throw StoreError(.notEnrolled, "user \(name) has no TOTP")
        }
    }

    /// `statement` returns a row when it changed the user; none means there is no such user.
    private func updateExisting(_ name: String, _ statement: PostgresQuery) async throws {
        let changed = try await database.withConnection(Self.adminLimit) { connection in try await connection.row(statement) != nil }
        if !changed { throw StoreError(.noSuchUser, "no user \(name)") }
    }
}

extension PostgresStore: CredentialStore {
    /// From memory when the user was read before and no node changed it since (`CredentialsCache`, kept coherent by
    /// `countersign_credentials` notifications); else from the database.
    public func credentials(for username: String) async throws -> UserCredentials? {
        hearCredentialChanges()
        return try await credentialsCache.credentials(for: username, secrets: secrets, timing: timing) {
            let started = ContinuousClock.now
            defer { timing?(.credentialsRead, .now - started) }
            return try await database.withConnection(Self.loginLimit) { connection in
                try await connection.row(
                    """
                    SELECT users.password_hash, users.totp_secret, users.totp_algorithm, users.totp_digits,
                        users.totp_period, users.locked_until, users.failed_attempts, \(unescaped: EnrolledDevice.columns)
                    FROM users LEFT JOIN devices ON devices.username = users.name WHERE users.name = \(username)
                    """)
                    .map(SealedCredentials.init(row:))
            }
        }
    }

    /// One statement, so that the same code on two nodes in the same millisecond is accepted once: the second INSERT
    /// waits for the first's row and then takes the DO UPDATE path, whose WHERE sees the step already there (§ INSERT,
    /// "ON CONFLICT Clause"). A user that does not exist inserts nothing.
    public func recordAcceptedTOTPStep(_ step: Int64, for username: String) async throws -> Bool {
        let accepted = try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row(
                """
                INSERT INTO totp_used_steps (username, step) SELECT name, \(step) FROM users WHERE name = \(username)
                ON CONFLICT (username) DO UPDATE SET step = excluded.step, previous_step = totp_used_steps.step
                WHERE totp_used_steps.step < excluded.step
                RETURNING step
                """) != nil
        }
        if accepted && pruneIsDue() {
            let before = step - StoreConventions.usedStepsKept
            inBackground("pruning used TOTP steps") {
                try await self.database.withConnection(Self.backgroundLimit) { connection in
                    try await connection.run("DELETE FROM totp_used_steps WHERE step < \(before)")
                }
            }
        }
        return accepted
    }

    /// One statement: the row goes back to the step before only while `step` is still its last one (a later step
    /// recorded meanwhile, here or on another node, stays); a row that had no step before goes.
    public func releaseTOTPStep(_ step: Int64, for username: String) async throws {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.run(
                """
                WITH restored AS (
                    UPDATE totp_used_steps SET step = previous_step, previous_step = NULL
                    WHERE username = \(username) AND step = \(step) AND previous_step IS NOT NULL
                )
                DELETE FROM totp_used_steps WHERE username = \(username) AND step = \(step) AND previous_step IS NULL
                """)
        }
    }

    private func pruneIsDue() -> Bool {
        acceptedSincePrune.withLock { count in
            count += 1
            guard count >= StoreConventions.usedStepsPruneEvery else { return false }
            count = 0
            return true
        }
    }
}

/// The columns of a login's read.
extension SealedCredentials {
    fileprivate init(row: PostgresRandomAccessRow) throws {
        self.init(
            passwordHash: try row.get("password_hash"), sealedSecret: try row.bytes("totp_secret"),
            algorithm: try row.get("totp_algorithm"), digits: try row.get("totp_digits", as: Int64?.self).map(Int.init),
            period: try row.get("totp_period", as: Int64?.self).map(Int.init), device: try EnrolledDevice(row: row),
            lockedUntil: try row.get("locked_until"), failedAttempts: Int(try row.get("failed_attempts", as: Int64.self)))
    }
}
