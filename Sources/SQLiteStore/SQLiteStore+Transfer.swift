import Foundation
import GRDB
import MFACore

/// `countersign store copy`, this store's side: every row out, or every row in.
extension SQLiteStore: StoreTransfer {
    public func forEachRecord(_ body: (StoreRecord) throws -> Void) async throws {
        try await flush()
        try forEachRecordNow(body)
    }

    /// One read transaction (a consistent snapshot while `serve` runs), cursors: memory stays flat.
    private func forEachRecordNow(_ body: (StoreRecord) throws -> Void) throws {
        try database.read { db in
            let users = try Row.fetchCursor(
                db,
                sql: """
                    SELECT users.*, totp_used_steps.step AS used_step FROM users
                    LEFT JOIN totp_used_steps ON totp_used_steps.user = users.name ORDER BY users.name
                    """)
            while let row = try users.next() { try body(.user(UserRecord(row: row))) }
            let groups = try Row.fetchCursor(db, sql: "SELECT name, created_at FROM user_groups ORDER BY name")
            while let row = try groups.next() {
                try body(.group(name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"])))
            }
            let members = try Row.fetchCursor(db, sql: "SELECT group_name, user FROM group_members ORDER BY group_name, user")
            while let row = try members.next() { try body(.groupMember(group: row["group_name"], user: row["user"])) }
            let devices = try Row.fetchCursor(db, sql: "SELECT \(EnrolledDevice.columns("devices")) FROM devices ORDER BY id")
            while let row = try devices.next() { try body(.device(EnrolledDevice(row: row))) }
            let invitations = try Row.fetchCursor(db, sql: "SELECT token_hash, user, expires FROM invitations ORDER BY user")
            while let row = try invitations.next() {
                let expires = Date(timeIntervalSince1970: row["expires"])
                try body(.invitation(tokenHash: Array(row["token_hash"] as Data), user: row["user"], expires: expires))
            }
            let admins = try Row.fetchCursor(db, sql: "SELECT * FROM admins ORDER BY name")
            while let row = try admins.next() { try body(.admin(AdminRecord(row: row))) }
            let settings = try Row.fetchCursor(db, sql: "SELECT key, value FROM settings ORDER BY key")
            while let row = try settings.next() { try body(.setting(key: row["key"], value: Array(row["value"] as Data))) }
            let events = try Row.fetchCursor(db, sql: "SELECT * FROM events ORDER BY id")
            while let row = try events.next() { try body(.event(StoredEvent(row: row).event)) }
        }
    }

    public func load(_ next: () throws -> StoreRecord?) async throws -> StoreCopySummary {
        try loadNow(next)
    }

    private func loadNow(_ next: () throws -> StoreRecord?) throws -> StoreCopySummary {
        try database.write { db in
            // Settings may exist already (a signing key made when the store was opened): the source's replace them.
            let holds = try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM user_groups) OR EXISTS (SELECT 1 FROM admins)
                        OR EXISTS (SELECT 1 FROM events)
                    """)
            guard holds == false else { throw StoreError.targetNotEmpty }
            var summary = StoreCopySummary(users: 0, devices: 0)
            while let record = try next() {
                switch record {
                case .user(let user):
                    try Self.insert(user, db)
                    summary.users += 1
                case .device(let device):
                    try db.execute(
                        sql: """
                            INSERT INTO devices (id, user, public_key, name, platform, enrolled_at, last_used,
                                webauthn_credential_id, webauthn_public_key)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            device.id, device.username, device.publicKey, device.name, device.platform,
                            device.enrolledAt.timeIntervalSince1970, device.lastUsed?.timeIntervalSince1970, device.webAuthn?.id,
                            device.webAuthn?.publicKey,
                        ])
                    summary.devices += 1
                case .setting(let key, let value):
                    try db.execute(sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", arguments: [key, Data(value)])
                case .event(let event):
                    try EventRows.insert([event], db)
                case .group(let name, let createdAt):
                    try db.execute(
                        sql: "INSERT INTO user_groups (name, created_at) VALUES (?, ?)", arguments: [name, createdAt.timeIntervalSince1970])
                    summary.groups += 1
                case .groupMember(let group, let user):
                    try db.execute(sql: "INSERT INTO group_members (group_name, user) VALUES (?, ?)", arguments: [group, user])
                case .admin(let admin):
                    try Self.insert(admin, db)
                    summary.admins += 1
                case .invitation(let tokenHash, let user, let expires):
                    try db.execute(
                        sql: "INSERT INTO invitations (token_hash, user, expires) VALUES (?, ?, ?)",
                        arguments: [Data(tokenHash), user, expires.timeIntervalSince1970])
                    summary.invitations += 1
                }
            }
            return summary
        }
    }

    private static func insert(_ user: UserRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO users (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits, totp_period,
                    totp_enrolled_at, failed_attempts, failed_since, locked_until)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                user.name, user.passwordHash, user.createdAt.timeIntervalSince1970, user.sealedTOTPSecret.map { Data($0) },
                user.totpParameters?.algorithm.rawValue, user.totpParameters?.digits, user.totpParameters?.period,
                user.totpEnrolledAt?.timeIntervalSince1970, user.failedAttempts, user.failedSince?.timeIntervalSince1970,
                user.lockedUntil?.timeIntervalSince1970,
            ])
        if let step = user.lastUsedStep {
            try db.execute(sql: "INSERT INTO totp_used_steps (user, step) VALUES (?, ?)", arguments: [user.name, step])
        }
    }

    private static func insert(_ admin: AdminRecord, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO admins (name, password_hash, created_at, totp_secret, totp_algorithm, totp_digits, totp_period,
                    totp_confirmed, totp_last_step, failed_attempts, failed_since, locked_until)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                admin.name, admin.passwordHash, admin.createdAt.timeIntervalSince1970, admin.sealedTOTPSecret.map { Data($0) },
                admin.totpParameters?.algorithm.rawValue, admin.totpParameters?.digits, admin.totpParameters?.period,
                admin.totpConfirmed, admin.lastUsedStep, admin.failedAttempts, admin.failedSince?.timeIntervalSince1970,
                admin.lockedUntil?.timeIntervalSince1970,
            ])
    }
}

extension UserRecord {
    init(row: Row) {
        let sealed: Data? = row["totp_secret"]
        // The users table's totp_last_step is the record from before totp_used_steps existed: the later one counts.
        let steps = [row["totp_last_step"] as Int64?, row["used_step"] as Int64?].compactMap { $0 }
        self.init(
            name: row["name"], passwordHash: row["password_hash"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            sealedTOTPSecret: sealed.map { Array($0) }, totpParameters: sealed == nil ? nil : TOTPParameters(row: row),
            totpEnrolledAt: (row["totp_enrolled_at"] as Double?).map(Date.init(timeIntervalSince1970:)), lastUsedStep: steps.max(),
            failedAttempts: row["failed_attempts"], failedSince: (row["failed_since"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lockedUntil: (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}

extension AdminRecord {
    init(row: Row) {
        let sealed: Data? = row["totp_secret"]
        self.init(
            name: row["name"], passwordHash: row["password_hash"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            sealedTOTPSecret: sealed.map { Array($0) }, totpParameters: sealed == nil ? nil : TOTPParameters(row: row),
            totpConfirmed: row["totp_confirmed"], lastUsedStep: row["totp_last_step"], failedAttempts: row["failed_attempts"],
            failedSince: (row["failed_since"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lockedUntil: (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}

extension TOTPParameters {
    /// The totp_algorithm, totp_digits and totp_period columns of a row of users or admins.
    init(row: Row) {
        self.init(
            algorithm: TOTPAlgorithm(rawValue: row["totp_algorithm"] ?? "") ?? .sha1, digits: row["totp_digits"] ?? 6,
            period: row["totp_period"] ?? 30)
    }
}
