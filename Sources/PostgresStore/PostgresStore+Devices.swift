import Crypto
import Foundation
import MFACore
import PostgresNIO

/// Push devices, their single-use enrollment codes, the server's signing key, shared keys and the push switch.
extension PostgresStore {
    // MARK: Enrollment codes

    /// Stores a code (only its SHA-256) that enrolls one device for `user` until `expires`. Refused while the user
    /// has a device: one device per user.
    public func createEnrollmentCode(_ code: String, for user: String, expires: Date) async throws {
        let hash = ByteBuffer(bytes: StoreConventions.enrollmentCodeHash(code))
        try await database.withConnection(Self.adminLimit) { connection in
            let row = try await connection.row(
                """
                SELECT EXISTS (SELECT 1 FROM users WHERE name = \(user)) AS user_exists,
                    EXISTS (SELECT 1 FROM devices WHERE username = \(user)) AS has_device
                """)
            guard try row?.get("user_exists", as: Bool.self) == true else { throw StoreError(.noSuchUser, "no user \(user)") }
            if try row?.get("has_device", as: Bool.self) == true {
                throw StoreError(.alreadyEnrolled, "user \(user) already has a device; delete it first")
            }
            try await connection.run(
                "INSERT INTO enrollment_codes (code_hash, username, expires) VALUES (\(hash), \(user), \(expires.timeIntervalSince1970))")
        }
    }

    /// Uses up a code: the user it was made for, or nil when it is unknown, already used or expired (an expired
    /// code is used up too). DELETE … RETURNING hands the row to one caller only, also across nodes.
    public func redeemEnrollmentCode(_ code: String, now: Date) async throws -> String? {
        let hash = ByteBuffer(bytes: StoreConventions.enrollmentCodeHash(code))
        let row = try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row("DELETE FROM enrollment_codes WHERE code_hash = \(hash) RETURNING username, expires")
        }
        guard let row, now.timeIntervalSince1970 < (try row.get("expires", as: Double.self)) else { return nil }
        return try row.get("username", as: String.self)
    }

    // MARK: Devices

    /// Records an enrolled device; refused when the user already has one (the UNIQUE username settles a race).
    public func addDevice(_ device: EnrolledDevice) async throws {
        let added = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row(
                """
                INSERT INTO devices (id, username, public_key, name, platform, enrolled_at, last_used, webauthn_credential_id,
                    webauthn_public_key)
                VALUES (\(device.id), \(device.username), \(device.publicKey), \(device.name), \(device.platform),
                    \(device.enrolledAt.timeIntervalSince1970), NULL, \(device.webAuthn?.id), \(device.webAuthn?.publicKey))
                ON CONFLICT (username) DO NOTHING RETURNING 1 AS added
                """) != nil
        }
        if !added { throw StoreError(.alreadyEnrolled, "user \(device.username) already has a device; delete it first") }
    }

    public func device(id: String) async throws -> EnrolledDevice? {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row("SELECT \(unescaped: EnrolledDevice.columns) FROM devices WHERE id = \(id)")
                .flatMap(EnrolledDevice.init(row:))
        }
    }

    public func device(forUser user: String) async throws -> EnrolledDevice? {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row("SELECT \(unescaped: EnrolledDevice.columns) FROM devices WHERE username = \(user)")
                .flatMap(EnrolledDevice.init(row:))
        }
    }

    public func deleteDevice(forUser user: String) async throws {
        let deleted = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("DELETE FROM devices WHERE username = \(user) RETURNING 1 AS deleted") != nil
        }
        if !deleted { throw StoreError(.notEnrolled, "user \(user) has no device") }
    }

    public func touchDevice(id: String, at time: Date) async throws {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.run("UPDATE devices SET last_used = \(time.timeIntervalSince1970) WHERE id = \(id)")
        }
    }

    // MARK: Keys and the push switch

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

    /// A secret in the settings table, sealed under the store key. INSERT … ON CONFLICT DO NOTHING, then a read: of
    /// nodes that start together, the first insert wins and every node reads that one.
    private func sealedSetting(_ label: String, make: @escaping @Sendable () -> [UInt8]) async throws -> [UInt8] {
        let candidate = ByteBuffer(bytes: try secrets.seal(make(), for: label))
        let sealed = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.run("INSERT INTO settings (key, value) VALUES (\(label), \(candidate)) ON CONFLICT (key) DO NOTHING")
            return try await connection.row("SELECT value FROM settings WHERE key = \(label)")?.bytes("value")
        }
        guard let sealed else { throw StoreError(.io, "the setting \(label) vanished as it was written") }
        return try secrets.open(sealed, for: label)
    }

    public func isPushEnabled() async throws -> Bool {
        let value = try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row("SELECT value FROM settings WHERE key = \(StoreConventions.pushEnabledSetting)")?.bytes("value")
        }
        return value != [0]
    }

    public func setPushEnabled(_ enabled: Bool) async throws {
        let value = ByteBuffer(bytes: [enabled ? 1 : 0])
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.run(
                """
                INSERT INTO settings (key, value) VALUES (\(StoreConventions.pushEnabledSetting), \(value))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
        }
    }

    public func gatewaySettings() async throws -> GatewaySettings {
        let value = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("SELECT value FROM settings WHERE key = \(StoreConventions.gatewaySettingsSetting)")?.bytes("value")
        }
        return try StoreConventions.decodeGatewaySettings(value)
    }

    public func setGatewaySettings(_ settings: GatewaySettings) async throws {
        let value = ByteBuffer(bytes: StoreConventions.encode(settings))
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.run(
                """
                INSERT INTO settings (key, value) VALUES (\(StoreConventions.gatewaySettingsSetting), \(value))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
        }
    }

    /// Users whose only second factor is push (what `protect disable` takes away).
    public func pushOnlyUsers() async throws -> [String] {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows(
                "SELECT users.name FROM users JOIN devices ON devices.username = users.name WHERE users.totp_secret IS NULL ORDER BY 1"
            ).map { try $0.get("name", as: String.self) }
        }
    }
}
