import Foundation
import GRDB
import MFACore

/// Local groups and their members.
extension SQLiteStore: GroupStore {
    public func addGroup(_ name: String, at time: Date) async throws {
        try StoreConventions.validate(groupName: name)
        try await database.write { db in
            if try Self.groupExists(name, db) { throw StoreError(.groupExists, "group \(name) already exists") }
            try db.execute(sql: "INSERT INTO user_groups (name, created_at) VALUES (?, ?)", arguments: [name, time.timeIntervalSince1970])
        }
    }

    public func deleteGroup(_ name: String) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM user_groups WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw Self.noSuchGroup(name) }
        }
    }

    public func groups() async throws -> [GroupSummary] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT user_groups.name, count(group_members.user) AS members FROM user_groups
                    LEFT JOIN group_members ON group_members.group_name = user_groups.name
                    GROUP BY user_groups.name ORDER BY user_groups.name
                    """
            ).map { GroupSummary(name: $0["name"], memberCount: $0["members"]) }
        }
    }

    public func members(ofGroup name: String) async throws -> [String] {
        try await database.read { db in
            guard try Self.groupExists(name, db) else { throw Self.noSuchGroup(name) }
            return try String.fetchAll(
                db, sql: "SELECT user FROM group_members WHERE group_name = ? ORDER BY user", arguments: [name])
        }
    }

    public func addMembers(_ users: [String], toGroup name: String) async throws {
        try await database.write { db in
            guard try Self.groupExists(name, db) else { throw Self.noSuchGroup(name) }
            for user in users {
                guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?)", arguments: [user]) ?? false
                else { throw StoreError(.noSuchUser, "no user \(user)") }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO group_members (group_name, user) VALUES (?, ?)", arguments: [name, user])
            }
        }
    }

    public func removeMembers(_ users: [String], fromGroup name: String) async throws {
        try await database.write { db in
            guard try Self.groupExists(name, db) else { throw Self.noSuchGroup(name) }
            for user in users {
                try db.execute(sql: "DELETE FROM group_members WHERE group_name = ? AND user = ?", arguments: [name, user])
            }
        }
    }

    /// Read on the login path only when a reply rule names a group, after the Accept is decided.
    public func groups(of username: String) async throws -> [String] {
        try await loginReadBatches.read { db in
            try String.fetchAll(
                db.cachedStatement(sql: "SELECT group_name FROM group_members WHERE user = ? ORDER BY group_name"),
                arguments: [username])
        }
    }

    static func groupExists(_ name: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM user_groups WHERE name = ?)", arguments: [name]) ?? false
    }

    static func noSuchGroup(_ name: String) -> StoreError {
        StoreError(.noSuchGroup, "no group \(name)")
    }
}
