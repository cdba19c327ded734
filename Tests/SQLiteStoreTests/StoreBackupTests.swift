import Foundation
import GRDB
import MFACore
import Testing

@testable import SQLiteStore

/// `countersign store backup` and `restore`: SQLite's online backup, and a restore that never overwrites.
@Suite struct StoreBackupTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-backup-\(UUID())").path
    var path: String { directory + "/countersign.db" }

    func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(try SQLiteStore.open(path: path, keyPath: path + ".key"))
    }

    @Test func aBackupRestoresWithTheSameKeyIntoAFreshStore() async throws {
        try await withStore { store in
            let enrollment = TOTPEnrollment.generate()
            try await store.addUser("alice", passwordHash: "$scrypt$x")
            try await store.enrollTOTP(enrollment, for: "alice")
            try await store.addUser("bob", passwordHash: nil)
            let backup = directory + "/backup.db"
            let copied = try SQLiteStore.backup(databaseAt: path, to: backup)
            #expect(copied == StoreCopySummary(users: 2, devices: 0))
            #expect((try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            // One file: no -wal beside it, and nothing of the key in it.
            #expect(!FileManager.default.fileExists(atPath: backup + "-wal"))
            let key = try #require(FileManager.default.contents(atPath: path + ".key"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: backup)).range(of: key) == nil)

            let restored = directory + "/restored/countersign.db"
            #expect(try SQLiteStore.restore(from: backup, toDatabaseAt: restored) == copied)
            let reopened = try SQLiteStore.open(path: restored, keyPath: path + ".key")
            #expect(try await reopened.users().map(\.name) == ["alice", "bob"])
            #expect(try await reopened.credentials(for: "alice")?.totp?.secret == enrollment.secret)
        }
    }

    /// Groups are in the backup, also one without members.
    @Test func aBackupKeepsGroups() async throws {
        try await withStore { store in
            try await store.addUser("alice", passwordHash: nil)
            try await store.addGroup("vpn", at: Date())
            try await store.addGroup("empty", at: Date())
            try await store.addMembers(["alice"], toGroup: "vpn")
            let backup = directory + "/backup.db"
            #expect(try SQLiteStore.backup(databaseAt: path, to: backup) == StoreCopySummary(users: 1, devices: 0, groups: 2))
            let restored = directory + "/restored/countersign.db"
            _ = try SQLiteStore.restore(from: backup, toDatabaseAt: restored)
            let reopened = try SQLiteStore.open(path: restored, keyPath: path + ".key")
            #expect(try await reopened.groups() == [GroupSummary(name: "empty", memberCount: 0), GroupSummary(name: "vpn", memberCount: 1)])
            #expect(try await reopened.groups(of: "alice") == ["vpn"])
        }
    }

    /// A backup made before groups existed restores, and the store it becomes has groups once opened.
    @Test func aBackupFromBeforeGroupsRestores() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backup = directory + "/old.db"
        let old = try DatabaseQueue(path: backup)
        try SQLiteStore.migrator.migrate(old, upTo: "v6-event-node")
        try await old.write { db in
            try db.execute(sql: "INSERT INTO users (name, created_at) VALUES ('alice', 0)")
        }
        try old.close()
        #expect(try SQLiteStore.restore(from: backup, toDatabaseAt: path) == StoreCopySummary(users: 1, devices: 0, groups: 0))
        let store = try SQLiteStore.open(path: path, keyPath: path + ".key")
        try await store.addGroup("vpn", at: Date())
        try await store.addMembers(["alice"], toGroup: "vpn")
        #expect(try await store.groups(of: "alice") == ["vpn"])
    }

    @Test func aRestoreNeverOverwritesAStore() async throws {
        try await withStore { store in
            try await store.addUser("alice", passwordHash: nil)
            let backup = directory + "/backup.db"
            _ = try SQLiteStore.backup(databaseAt: path, to: backup)
            #expect(throws: StoreError(.storeExists, "")) { try SQLiteStore.restore(from: backup, toDatabaseAt: path) }
            #expect(try await store.users().map(\.name) == ["alice"])
        }
    }

    @Test func aDamagedOrForeignFileIsRefused() async throws {
        try await withStore { store in
            try await store.addUser("alice", passwordHash: nil)
            let backup = directory + "/backup.db"
            _ = try SQLiteStore.backup(databaseAt: path, to: backup)
            // A page of the users table's b-tree overwritten: the file still opens, the integrity check fails.
            var bytes = try Data(contentsOf: URL(fileURLWithPath: backup))
            let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
            for page in 1..<(bytes.count / pageSize) {
                bytes.replaceSubrange(page * pageSize + 8..<(page + 1) * pageSize, with: Data(repeating: 0xA5, count: pageSize - 8))
            }
            let damaged = directory + "/damaged.db"
            try bytes.write(to: URL(fileURLWithPath: damaged))
            #expect(throws: (any Error).self) { try SQLiteStore.restore(from: damaged, toDatabaseAt: directory + "/a.db") }

            let foreign = directory + "/foreign.db"
            let other = try DatabaseQueue(path: foreign)
            try other.inDatabase { try $0.execute(sql: "CREATE TABLE t (x)") }
            try other.close()
            #expect(throws: StoreError(.badBackup, "")) { try SQLiteStore.restore(from: foreign, toDatabaseAt: directory + "/b.db") }
            for refused in ["/a.db", "/b.db"] { #expect(!FileManager.default.fileExists(atPath: directory + refused)) }
        }
    }
}
