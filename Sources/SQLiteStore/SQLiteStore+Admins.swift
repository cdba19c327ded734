import Foundation
import GRDB
import MFACore

/// The admin console's accounts.
extension SQLiteStore {
    public func addAdmin(_ name: String, passwordHash: String, at time: Date) async throws {
        try StoreConventions.validate(username: name)
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO admins (name, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                arguments: [name, passwordHash, time.timeIntervalSince1970])
            if db.changesCount == 0 { throw StoreError(.adminExists, "admin \(name) already exists") }
        }
    }

    public func deleteAdmin(_ name: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM admins WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw StoreError(.noSuchAdmin, "no admin \(name)") }
        }
    }

    public func admins() async throws -> [AdminSummary] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at, totp_confirmed, locked_until FROM admins ORDER BY name").map { row in
                AdminSummary(
                    name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"]), totpConfirmed: row["totp_confirmed"],
                    lockedUntil: (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    public func adminAccount(_ name: String) async throws -> AdminAccount? {
        let row = try await database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM admins WHERE name = ?", arguments: [name]) }
        guard let row else { return nil }
        var totp: TOTPEnrollment?
        if let sealed = row["totp_secret"] as Data? {
            totp = TOTPEnrollment(
                secret: try secrets.open(Array(sealed), for: StoreConventions.adminSealingName(name)), parameters: TOTPParameters(row: row))
        }
        return AdminAccount(
            name: name, passwordHash: row["password_hash"], createdAt: Date(timeIntervalSince1970: row["created_at"]), totp: totp,
            totpConfirmed: row["totp_confirmed"], lastUsedStep: row["totp_last_step"],
            lockedUntil: (row["locked_until"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    public func setUnconfirmedAdminTOTP(_ enrollment: TOTPEnrollment, for name: String) async throws {
        let sealed = try secrets.seal(enrollment.secret, for: StoreConventions.adminSealingName(name))
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE admins SET totp_secret = ?, totp_algorithm = ?, totp_digits = ?, totp_period = ?, totp_last_step = NULL
                    WHERE name = ? AND totp_confirmed = 0
                    """,
                arguments: [
                    Data(sealed), enrollment.parameters.algorithm.rawValue, enrollment.parameters.digits, enrollment.parameters.period,
                    name,
                ])
            if db.changesCount == 1 { return }
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM admins WHERE name = ?)", arguments: [name]) == true else {
                throw StoreError(.noSuchAdmin, "no admin \(name)")
            }
            throw StoreError(.alreadyEnrolled, "admin \(name) has confirmed TOTP")
        }
    }

    public func recordAdminTOTPStep(_ step: Int64, for name: String) async throws -> Bool {
        // One statement: two sign-ins racing with the same code cannot both see it unused.
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE admins SET totp_last_step = ?, totp_confirmed = 1
                    WHERE name = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)
                    """,
                arguments: [step, name, step])
            return db.changesCount == 1
        }
    }

    public func recordAdminFailure(for name: String, now: Date, policy: LockoutPolicy) async throws -> Bool {
        try await database.write { db in try Self.countFailure(in: "admins", of: name, now: now, policy: policy, db) }
    }

    public func clearAdminFailures(for name: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE admins SET failed_attempts = 0, failed_since = NULL, locked_until = NULL WHERE name = ?", arguments: [name])
        }
    }
}
