import DeviceProtocol
import Foundation
import MFACore
import PostgresNIO

/// `countersign store copy`, this store's side: every row out, or every row in.
extension PostgresStore: StoreTransfer {
    /// One REPEATABLE READ transaction (a consistent snapshot while nodes serve), rows as the server sends them.
    public func forEachRecord(_ body: (StoreRecord) throws -> Void) async throws {
        try await flush()
        try await database.withUnboundedConnection(readyWithin: Self.adminLimit) { connection in
            try await connection.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                try await each(
                    """
                    SELECT users.*, totp_used_steps.step AS used_step FROM users
                    LEFT JOIN totp_used_steps ON totp_used_steps.username = users.name ORDER BY users.name
                    """, connection) { try body(.user(try UserRecord(row: $0))) }
                try await each("SELECT name, created_at FROM user_groups ORDER BY name", connection) { row in
                    try body(.group(name: try row.get("name"), createdAt: Date(timeIntervalSince1970: try row.get("created_at"))))
                }
                try await each("SELECT group_name, username FROM group_members ORDER BY group_name, username", connection) { row in
                    try body(.groupMember(group: try row.get("group_name"), user: try row.get("username")))
                }
                try await each("SELECT \(EnrolledDevice.columns) FROM devices ORDER BY id", connection) { row in
                    if let device = try EnrolledDevice(row: row) { try body(.device(device)) }
                }
                try await each("SELECT token_hash, username, expires FROM invitations ORDER BY username", connection) { row in
                    let expires = Date(timeIntervalSince1970: try row.get("expires"))
                    try body(.invitation(tokenHash: try row.bytes("token_hash") ?? [], user: try row.get("username"), expires: expires))
                }
                try await each("SELECT * FROM admins ORDER BY name", connection) { try body(.admin(try AdminRecord(row: $0))) }
                try await each("SELECT key, value FROM settings ORDER BY key", connection) { row in
                    try body(.setting(key: try row.get("key"), value: try row.bytes("value") ?? []))
                }
                try await each("SELECT * FROM events ORDER BY id", connection) { try body(.event(try StoredEvent(row: $0).event)) }
                try await connection.run("COMMIT")
            } catch {
                try? await connection.run("ROLLBACK")
                throw error
            }
        }
    }

    private func each(
        _ sql: String, _ connection: PostgresConnection, _ body: (PostgresRandomAccessRow) throws -> Void
    ) async throws {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresConnection.quiet)
        for try await row in rows { try body(row.makeRandomAccess()) }
    }

    public func load(_ next: () throws -> StoreRecord?) async throws -> StoreCopySummary {
        try await database.withUnboundedConnection(readyWithin: Self.adminLimit) { connection in
            try await connection.transaction { connection in
                let holds = try await connection.rows(
                    """
                    SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM user_groups) OR EXISTS (SELECT 1 FROM admins)
                        OR EXISTS (SELECT 1 FROM events) AS holds
                    """
                ).first?.get("holds", as: Bool.self) ?? false
                guard !holds else { throw StoreError.targetNotEmpty }
                var summary = StoreCopySummary(users: 0, devices: 0)
                while let record = try next() {
                    switch record {
                    case .user(let user):
                        try await Self.insert(user, connection)
                        summary.users += 1
                    case .device(let device):
                        try await connection.run(
                            """
                            INSERT INTO devices (id, username, public_key, name, platform, enrolled_at, last_used,
                                webauthn_credential_id, webauthn_public_key)
                            VALUES (\(device.id), \(device.username), \(device.publicKey), \(device.name), \(device.platform),
                                \(device.enrolledAt.timeIntervalSince1970), \(device.lastUsed?.timeIntervalSince1970),
                                \(device.webAuthn?.id), \(device.webAuthn?.publicKey))
                            """)
                        summary.devices += 1
                    case .setting(let key, let value):
                        // A signing key made when this store was opened gives way to the source's.
                        try await connection.run(
                            """
                            INSERT INTO settings (key, value) VALUES (\(key), \(ByteBuffer(bytes: value)))
                            ON CONFLICT (key) DO UPDATE SET value = excluded.value
                            """)
                    case .event(let event):
                        try await connection.run(Self.insertEvents([event]))
                    case .group(let name, let createdAt):
                        try await connection.run(
                            "INSERT INTO user_groups (name, created_at) VALUES (\(name), \(createdAt.timeIntervalSince1970))")
                        summary.groups += 1
                    case .groupMember(let group, let user):
                        try await connection.run("INSERT INTO group_members (group_name, username) VALUES (\(group), \(user))")
                    case .admin(let admin):
                        try await Self.insert(admin, connection)
                        summary.admins += 1
                    case .invitation(let tokenHash, let user, let expires):
                        try await connection.run(
                            """
                            INSERT INTO invitations (token_hash, username, expires)
                            VALUES (\(ByteBuffer(bytes: tokenHash)), \(user), \(expires.timeIntervalSince1970))
                            """)
                        summary.invitations += 1
                    }
                }
                return summary
            }
        }
    }

    private static func insert(_ user: UserRecord, _ connection: PostgresConnection) async throws {
        let sealed = user.sealedTOTPSecret.map { ByteBuffer(bytes: $0) }
        try await connection.run(
            """
            INSERT INTO users (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits, totp_period,
                totp_enrolled_at, failed_attempts, failed_since, locked_until)
            VALUES (\(user.name), \(user.passwordHash), \(user.createdAt.timeIntervalSince1970), \(sealed),
                \(user.totpParameters?.algorithm.rawValue), \(user.totpParameters.map { Int64($0.digits) }),
                \(user.totpParameters.map { Int64($0.period) }), \(user.totpEnrolledAt?.timeIntervalSince1970),
                \(Int64(user.failedAttempts)), \(user.failedSince?.timeIntervalSince1970), \(user.lockedUntil?.timeIntervalSince1970))
            """)
        if let step = user.lastUsedStep {
            try await connection.run("INSERT INTO totp_used_steps (username, step) VALUES (\(user.name), \(step))")
        }
    }

    private static func insert(_ admin: AdminRecord, _ connection: PostgresConnection) async throws {
        let sealed = admin.sealedTOTPSecret.map { ByteBuffer(bytes: $0) }
        try await connection.run(
            """
            INSERT INTO admins (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits, totp_period,
                totp_confirmed, totp_last_step, failed_attempts, failed_since, locked_until)
            VALUES (\(admin.name), \(admin.passwordHash), \(admin.createdAt.timeIntervalSince1970), \(sealed),
                \(admin.totpParameters?.algorithm.rawValue), \(admin.totpParameters.map { Int64($0.digits) }),
                \(admin.totpParameters.map { Int64($0.period) }), \(admin.totpConfirmed), \(admin.lastUsedStep),
                \(Int64(admin.failedAttempts)), \(admin.failedSince?.timeIntervalSince1970), \(admin.lockedUntil?.timeIntervalSince1970))
            """)
    }
}

extension UserRecord {
    init(row: PostgresRandomAccessRow) throws {
        let sealed = try row.bytes("totp_secret")
        self.init(
            name: try row.get("name"), passwordHash: try row.get("password_hash"),
            createdAt: Date(timeIntervalSince1970: try row.get("created_at")), sealedTOTPSecret: sealed,
            totpParameters: sealed == nil ? nil : try TOTPParameters(row: row),
            totpEnrolledAt: try row.get("totp_enrolled_at", as: Double?.self).map(Date.init(timeIntervalSince1970:)),
            lastUsedStep: try row.get("used_step", as: Int64?.self),
            failedAttempts: Int(try row.get("failed_attempts", as: Int64.self)),
            failedSince: try row.get("failed_since", as: Double?.self).map(Date.init(timeIntervalSince1970:)),
            lockedUntil: try row.get("locked_until", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
    }
}

extension AdminRecord {
    init(row: PostgresRandomAccessRow) throws {
        let sealed = try row.bytes("totp_secret")
        self.init(
            name: try row.get("name"), passwordHash: try row.get("password_hash"),
            createdAt: Date(timeIntervalSince1970: try row.get("created_at")), sealedTOTPSecret: sealed,
            totpParameters: sealed == nil ? nil : try TOTPParameters(row: row), totpConfirmed: try row.get("totp_confirmed"),
            lastUsedStep: try row.get("totp_last_step", as: Int64?.self),
            failedAttempts: Int(try row.get("failed_attempts", as: Int64.self)),
            failedSince: try row.get("failed_since", as: Double?.self).map(Date.init(timeIntervalSince1970:)),
            lockedUntil: try row.get("locked_until", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
    }
}

extension TOTPParameters {
    /// The totp_algorithm, totp_digits and totp_period columns of a row of users or admins.
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            algorithm: TOTPAlgorithm(rawValue: try row.get("totp_algorithm", as: String?.self) ?? "") ?? .sha1,
            digits: Int(try row.get("totp_digits", as: Int64?.self) ?? 6), period: Int(try row.get("totp_period", as: Int64?.self) ?? 30))
    }
}
