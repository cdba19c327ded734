import Crypto
import Foundation
import DeviceProtocol
import GRDB
import MFACore

/// Push devices, their single-use enrollment codes, the server's signing key and the gateway-wide push switch.
extension SQLiteStore {
    // MARK: Enrollment codes

    /// Stores a code (only its SHA-256) that enrolls one device for `user` until `expires`.
    /// Refused while the user has a device: one device per user.
    public func createEnrollmentCode(_ code: String, for user: String, expires: Date) async throws {
        try await database.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)", arguments: [user]) == true else {
                throw StoreError(.noSuchUser, "no user \(user)")
            }
            if try Self.hasDevice(user, db) {
                throw StoreError(.alreadyEnrolled, "user \(user) already has a device; delete it first")
            }
            try db.execute(
                sql: "INSERT INTO enrollment_codes (code_hash, user, expires) VALUES (?, ?, ?)",
                arguments: [Self.codeHash(code), user, expires.timeIntervalSince1970])
        }
    }

    /// Uses up a code: the user it was made for, or nil when it is unknown, already used or expired.
    /// Deleting and reading happen in one transaction, so a code works once even under a race.
    public func redeemEnrollmentCode(_ code: String, now: Date) async throws -> String? {
        try await database.write { db in
            let hash = Self.codeHash(code)
            guard let row = try Row.fetchOne(db, sql: "SELECT user, expires FROM enrollment_codes WHERE code_hash = ?", arguments: [hash])
            else { return nil }
            try db.execute(sql: "DELETE FROM enrollment_codes WHERE code_hash = ?", arguments: [hash])
            return now.timeIntervalSince1970 < row["expires"] ? row["user"] : nil
        }
    }

    // MARK: Devices

    /// Records an enrolled device; refused when the user already has one.
    public func addDevice(_ device: EnrolledDevice) async throws {
        try await database.write { db in
            if try Self.hasDevice(device.username, db) {
                throw StoreError(.alreadyEnrolled, "user \(device.username) already has a device; delete it first")
            }
            try db.execute(
                sql: """
                    INSERT INTO devices (id, user, public_key, name, platform, enrolled_at, last_used,
                        webauthn_credential_id, webauthn_public_key)
                    VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)
                    """,
                arguments: [
                    device.id, device.username, device.publicKey, device.name, device.platform,
                    device.enrolledAt.timeIntervalSince1970, device.webAuthn?.id, device.webAuthn?.publicKey,
                ])
        }
    }

    public func device(id: String) async throws -> EnrolledDevice? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(EnrolledDevice.columns("devices")) FROM devices WHERE id = ?", arguments: [id])
                .map(EnrolledDevice.init(row:))
        }
    }

    public func device(forUser user: String) async throws -> EnrolledDevice? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(EnrolledDevice.columns("devices")) FROM devices WHERE user = ?", arguments: [user])
                .map(EnrolledDevice.init(row:))
        }
    }

    public func deleteDevice(forUser user: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM devices WHERE user = ?", arguments: [user])
            if db.changesCount == 0 { throw StoreError(.notEnrolled, "user \(user) has no device") }
        }
    }

    public func touchDevice(id: String, at time: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE devices SET last_used = ? WHERE id = ?", arguments: [time.timeIntervalSince1970, id])
        }
    }

    // MARK: Server key and the push switch

    /// The server's P-256 signing key: made on first use, kept sealed under the store key like TOTP secrets.
    public func serverSigningKey() async throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(
            rawRepresentation: await sealedSetting(StoreConventions.serverSigningKeySetting) {
                Array(P256.Signing.PrivateKey().rawRepresentation)
            })
    }

    public func sharedKey(named name: String) async throws -> [UInt8] {
        try await sealedSetting(StoreConventions.sharedKeySetting(name)) { SecureRandom.bytes(32) }
    }

    /// A secret in the settings table, sealed under the store key; `make` gives its first value.
    private func sealedSetting(_ label: String, make: @escaping @Sendable () -> [UInt8]) async throws -> [UInt8] {
        let secrets = self.secrets
        let sealed: Data = try await database.write { db in
            if let existing = try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [label]) {
                return existing
            }
            let sealed = Data(try secrets.seal(make(), for: label))
            try db.execute(sql: "INSERT INTO settings (key, value) VALUES (?, ?)", arguments: [label, sealed])
            return sealed
        }
        return try secrets.open(Array(sealed), for: label)
    }

    public func isPushEnabled() async throws -> Bool {
        try await loginReadBatches.read { db in
            try Data.fetchOne(
                db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [StoreConventions.pushEnabledSetting])
                != Data([0])
        }
    }

    public func setPushEnabled(_ enabled: Bool) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                arguments: [StoreConventions.pushEnabledSetting, Data([enabled ? 1 : 0])])
        }
    }

    public func gatewaySettings() async throws -> GatewaySettings {
        let row = try await database.read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [StoreConventions.gatewaySettingsSetting])
        }
        return try StoreConventions.decodeGatewaySettings(row.map { Array($0) })
    }

    public func setGatewaySettings(_ settings: GatewaySettings) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                arguments: [StoreConventions.gatewaySettingsSetting, Data(StoreConventions.encode(settings))])
        }
    }

    /// Users whose only second factor is push (what `protect disable` takes away).
    public func pushOnlyUsers() async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT users.name FROM users JOIN devices ON devices.user = users.name WHERE users.totp_secret IS NULL ORDER BY 1")
        }
    }

    private static func hasDevice(_ user: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM devices WHERE user = ?)", arguments: [user]) ?? false
    }

    private static func codeHash(_ code: String) -> Data {
        Data(StoreConventions.enrollmentCodeHash(code))
    }
}

extension EnrolledDevice {
    static func columns(_ table: String) -> String {
        [
            "id AS device_id", "user AS device_user", "public_key", "name AS device_name", "platform", "enrolled_at", "last_used",
            "webauthn_credential_id", "webauthn_public_key",
        ]
            .map { "\(table).\($0)" }.joined(separator: ", ")
    }

    /// The device in `columns(_:)`'s order from column `first` on, or nil when there is none (a LEFT JOIN's NULLs).
    init?(_ columns: Columns, from first: CInt) {
        guard let id = columns.string(first), let username = columns.string(first + 1),
            let publicKey = columns.string(first + 2), let name = columns.string(first + 3),
            let platform = columns.string(first + 4), let enrolledAt = columns.double(first + 5)
        else { return nil }
        self.init(
            id: id, username: username, publicKey: publicKey, name: name, platform: platform,
            enrolledAt: Date(timeIntervalSince1970: enrolledAt),
            lastUsed: columns.double(first + 6).map(Date.init(timeIntervalSince1970:)),
            webAuthn: columns.string(first + 7).flatMap { id in
                columns.string(first + 8).map { WebAuthnCredential(id: id, publicKey: $0) }
            })
    }

    init(row: Row) {
        self.init(
            id: row["device_id"], username: row["device_user"], publicKey: row["public_key"], name: row["device_name"],
            platform: row["platform"], enrolledAt: Date(timeIntervalSince1970: row["enrolled_at"]),
            lastUsed: (row["last_used"] as Double?).map(Date.init(timeIntervalSince1970:)),
            webAuthn: (row["webauthn_credential_id"] as String?).flatMap { id in
                (row["webauthn_public_key"] as String?).map { WebAuthnCredential(id: id, publicKey: $0) }
            })
    }
}
