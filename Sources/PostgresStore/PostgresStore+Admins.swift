import Foundation
import MFACore
import PostgresNIO

/// The admin console's accounts.
extension PostgresStore {
    public func addAdmin(_ name: String, passwordHash: String, at time: Date) async throws {
        try StoreConventions.validate(username: name)
        let added = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row(
                """
                INSERT INTO admins (name, password_hash, created_at) VALUES (\(name), \(passwordHash), \(time.timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING RETURNING 1 AS added
                """) != nil
        }
        if !added { throw StoreError(.adminExists, "admin \(name) already exists") }
    }

    public func deleteAdmin(_ name: String) async throws {
        let deleted = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("DELETE FROM admins WHERE name = \(name) RETURNING 1 AS deleted") != nil
        }
        if !deleted { throw StoreError(.noSuchAdmin, "no admin \(name)") }
    }

    public func admins() async throws -> [AdminSummary] {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows("SELECT name, created_at, totp_confirmed, locked_until FROM admins ORDER BY name").map { row in
                AdminSummary(
                    name: try row.get("name"), createdAt: Date(timeIntervalSince1970: try row.get("created_at")),
                    totpConfirmed: try row.get("totp_confirmed"),
                    lockedUntil: try row.get("locked_until", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    public func adminAccount(_ name: String) async throws -> AdminAccount? {
        let row = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("SELECT * FROM admins WHERE name = \(name)")
        }
        guard let row else { return nil }
        var totp: TOTPEnrollment?
        if let sealed = try row.bytes("totp_secret") {
            totp = TOTPEnrollment(
                secret: try secrets.open(sealed, for: StoreConventions.adminSealingName(name)), parameters: try TOTPParameters(row: row))
        }
        return AdminAccount(
            name: name, passwordHash: try row.get("password_hash"), createdAt: Date(timeIntervalSince1970: try row.get("created_at")),
            totp: totp, totpConfirmed: try row.get("totp_confirmed"), lastUsedStep: try row.get("totp_last_step"),
            lockedUntil: try row.get("locked_until", as: Double?.self).map(Date.init(timeIntervalSince1970:)))
    }

    public func setUnconfirmedAdminTOTP(_ enrollment: TOTPEnrollment, for name: String) async throws {
        let sealed = ByteBuffer(bytes: try secrets.seal(enrollment.secret, for: StoreConventions.adminSealingName(name)))
        let parameters = enrollment.parameters
        try await database.withConnection(Self.adminLimit) { connection in
            let stored = try await connection.row(
                """
                UPDATE admins SET totp_secret = \(sealed), totp_algorithm = \(parameters.algorithm.rawValue),
                    totp_digits = \(Int64(parameters.digits)), totp_period = \(Int64(parameters.period)), totp_last_step = NULL
                WHERE name = \(name) AND NOT totp_confirmed RETURNING 1 AS stored
                """)
            if stored != nil { return }
            guard try await connection.row("SELECT 1 AS found FROM admins WHERE name = \(name)") != nil else {
                throw StoreError(.noSuchAdmin, "no admin \(name)")
            }
            throw StoreError(.alreadyEnrolled, "admin \(name) has confirmed TOTP")
        }
    }

    /// One conditional UPDATE: the same code on two nodes at once is accepted by one (the second waits for the first's
    /// row lock and then sees its step).
    public func recordAdminTOTPStep(_ step: Int64, for name: String) async throws -> Bool {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.row(
                """
                UPDATE admins SET totp_last_step = \(step), totp_confirmed = true
                WHERE name = \(name) AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < \(step))
                RETURNING 1 AS accepted
                """) != nil
        }
    }

    public func recordAdminFailure(for name: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        try await countFailure(in: "admins", of: name, now: now, policy: policy)
    }

    public func clearAdminFailures(for name: String) async throws {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.run(
                "UPDATE admins SET failed_attempts = 0, failed_since = NULL, locked_until = NULL WHERE name = \(name)")
        }
    }
}
