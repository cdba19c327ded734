import Foundation
import GRDB
import MFACore

/// A user as bulk import writes it: the password already hashed, the TOTP secret in the clear (sealed here).
public struct ImportedUser: Sendable {
    /// The line of the import file it came from, for the errors only the store can see (an existing user).
    public var line: Int
    public var name: String
    public var passwordHash: String?
    public var totpSecret: [UInt8]?

    public init(line: Int, name: String, passwordHash: String?, totpSecret: [UInt8]?) {
        self.line = line
        self.name = name
        self.passwordHash = passwordHash
        self.totpSecret = totpSecret
    }
}

public struct ImportSummary: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    public var count: Int { added + updated }

    public init(added: Int = 0, updated: Int = 0) {
        self.added = added
        self.updated = updated
    }
}

/// A user as export reads it; the secret only when asked for.
public struct ExportedUser: Sendable, Equatable {
    public var name: String
    public var hasPassword: Bool
    public var totpEnrolled: Bool
    public var hasDevice: Bool
    public var totpSecret: [UInt8]?
}

extension CountersignStore {
    /// Imports users in one transaction: all of them, or (on any error) none. `nextBatch` is called inside the
    /// transaction until it returns nil, so that the caller can stream a file of any size through it. Existing
    /// users are an error unless `updatingExisting`, which sets the password and the TOTP secret given (a new
    /// secret starts a new enrollment: the last accepted step is cleared). The audit event `auditEvent` makes of
    /// the summary is written in the same transaction.
    ///
    /// Synchronous: the batches are produced on the writer's thread while it holds the transaction.
    public func importUsers(
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
                        continue
                    }
                    guard updatingExisting else {
                        throw StoreError(.userExists, "line \(user.line): user \(user.name) already exists (--update changes it)")
                    }
                    if let hash = user.passwordHash { try updatePassword.execute(arguments: [hash, user.name]) }
                    if let sealed {
                        try updateTOTP.execute(arguments: [sealed, algorithm, digits, period, now, user.name])
                    }
                    summary.updated += 1
                }
            }
            try Self.insert(auditEvent(summary), db)
            return summary
        }
    }

    /// Every user in name order, one at a time (a cursor: memory stays flat), with the TOTP secret decrypted only
    /// when `includeSecrets`.
    public func forEachUser(includeSecrets: Bool, _ body: (ExportedUser) throws -> Void) throws {
        try database.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT users.name, users.password_hash IS NOT NULL AS has_password, users.totp_secret,
                        devices.id IS NOT NULL AS has_device
                    FROM users LEFT JOIN devices ON devices.user = users.name ORDER BY users.name
                    """)
            while let row = try rows.next() {
                let name: String = row["name"]
                let sealed: Data? = row["totp_secret"]
                try body(
                    ExportedUser(
                        name: name, hasPassword: row["has_password"], totpEnrolled: sealed != nil, hasDevice: row["has_device"],
                        totpSecret: try includeSecrets ? sealed.map { try secrets.open(Array($0), for: name) } : nil))
            }
        }
    }
}
