import Foundation
import MFACore
import GRDB

extension SQLiteStore {
    /// Copies the database at `path` into `destination` with SQLite's online backup API: one consistent snapshot,
    /// taken while `serve` goes on (WAL: the copy holds a read transaction and blocks no writer). The copy is one
    /// self-contained file, created 0600 (it holds password hashes), and replaces `destination` only once complete.
    /// The key that seals the TOTP secrets lives outside the database, so it is not in the copy.
    public static func backup(databaseAt path: String, to destination: String) throws -> StoreCopySummary {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.io, "no store at \(path)") }
        var configuration = Configuration()
        // `serve` may be committing: wait for the lock rather than fail.
        configuration.busyMode = .timeout(10)
        let source = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? source.close() }
        return try copy(from: source, to: destination)
    }

    /// Puts a backup in place as the database at `path`, which must not exist yet (a restore never overwrites a
    /// store). The backup must pass `PRAGMA integrity_check` and be a Countersign store this version can open.
    public static func restore(from backup: String, toDatabaseAt path: String) throws -> StoreCopySummary {
        for existing in [path, path + "-wal"] where FileManager.default.fileExists(atPath: existing) {
            throw StoreError(.storeExists, "\(existing) exists: restore only into a store that does not exist yet")
        }
        guard FileManager.default.isReadableFile(atPath: backup) else { throw StoreError(.io, "cannot read \(backup)") }
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: backup, configuration: configuration)
        defer { try? source.close() }
        try source.read { db in
            let report = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard report == ["ok"] else {
                throw StoreError(.badBackup, "\(backup) fails the integrity check: \(report.prefix(3).joined(separator: "; "))")
            }
            guard try db.tableExists("users"), try db.tableExists("grdb_migrations") else {
                throw StoreError(.badBackup, "\(backup) is not a Countersign store")
            }
            if try migrator.hasBeenSuperseded(db) {
                throw StoreError(.badBackup, "\(backup) comes from a newer Countersign: restore it with that version")
            }
        }
        return try copy(from: source, to: path)
    }

    /// `source` page by page into a new file beside `destination`, then renamed over it.
    private static func copy(from source: DatabaseQueue, to destination: String) throws -> StoreCopySummary {
        let partial = destination + ".partial-\(UUID().uuidString)"
        try StoreFiles.createPrivateFile(at: partial, contents: Data())
        do {
            let copy = try DatabaseQueue(path: partial)
            try source.backup(to: copy)
            let summary = try copy.writeWithoutTransaction { db in
                // The pages carry the source's WAL mode; one file without a -wal beside it is what a backup should be.
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
                // A store from before devices, groups, admins or invitations lacks their tables: the migrations add them
                // when it opens.
                func count(_ table: String) throws -> Int {
                    try db.tableExists(table) ? Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 : 0
                }
                return StoreCopySummary(
                    users: try count("users"), devices: try count("devices"), groups: try count("user_groups"),
                    admins: try count("admins"), invitations: try count("invitations"))
            }
            try copy.close()
            guard rename(partial, destination) == 0 else {
                throw StoreError(.io, "cannot rename \(partial) to \(destination): \(String(cString: strerror(errno)))")
            }
            StoreFiles.syncDirectory(of: destination)
            return summary
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}
