import Foundation
import MFACore
import PostgresNIO

/// Local groups and their members.
extension PostgresStore: GroupStore {
    public func addGroup(_ name: String, at time: Date) async throws {
        try StoreConventions.validate(groupName: name)
        let added = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row(
                """
                INSERT INTO user_groups (name, created_at) VALUES (\(name), \(time.timeIntervalSince1970))
                ON CONFLICT (name) DO NOTHING RETURNING 1 AS added
                """) != nil
        }
        if !added { throw StoreError(.groupExists, "group \(name) already exists") }
    }

    public func deleteGroup(_ name: String) async throws {
        let deleted = try await database.withConnection(Self.adminLimit) { connection in
            try await connection.row("DELETE FROM user_groups WHERE name = \(name) RETURNING 1 AS deleted") != nil
        }
        if !deleted { throw Self.noSuchGroup(name) }
    }

    public func groups() async throws -> [GroupSummary] {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.rows(
                """
                SELECT user_groups.name, count(group_members.username) AS members FROM user_groups
                LEFT JOIN group_members ON group_members.group_name = user_groups.name
                GROUP BY user_groups.name ORDER BY user_groups.name
                """
            ).map { GroupSummary(name: try $0.get("name"), memberCount: Int(try $0.get("members", as: Int64.self))) }
        }
    }

    public func members(ofGroup name: String) async throws -> [String] {
        try await database.withConnection(Self.adminLimit) { connection in
            guard try await connection.row("SELECT 1 AS found FROM user_groups WHERE name = \(name)") != nil else {
                throw Self.noSuchGroup(name)
            }
            return try await connection.rows("SELECT username FROM group_members WHERE group_name = \(name) ORDER BY username")
                .map { try $0.get("username") }
        }
    }

    public func addMembers(_ users: [String], toGroup name: String) async throws {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.transaction { connection in
                // FOR SHARE: a group deleted meanwhile waits for this, or this fails on it, never half-added.
                guard try await connection.row("SELECT 1 AS found FROM user_groups WHERE name = \(name) FOR SHARE") != nil else {
                    throw Self.noSuchGroup(name)
                }
                for user in users {
                    let added = try await connection.row(
                        """
                        INSERT INTO group_members (group_name, username) SELECT \(name), name FROM users WHERE name = \(user)
                        ON CONFLICT DO NOTHING RETURNING 1 AS added
                        """)
                    if added == nil, try await connection.row("SELECT 1 AS found FROM users WHERE name = \(user)") == nil {
                        throw StoreError(.noSuchUser, "no user \(user)")
                    }
                }
            }
        }
    }

    public func removeMembers(_ users: [String], fromGroup name: String) async throws {
        try await database.withConnection(Self.adminLimit) { connection in
            try await connection.transaction { connection in
                guard try await connection.row("SELECT 1 AS found FROM user_groups WHERE name = \(name) FOR SHARE") != nil else {
                    throw Self.noSuchGroup(name)
                }
                for user in users {
                    try await connection.run("DELETE FROM group_members WHERE group_name = \(name) AND username = \(user)")
                }
            }
        }
    }

    /// Read on the login path only when a reply rule names a group, after the Accept is decided.
    public func groups(of username: String) async throws -> [String] {
        try await database.withConnection(Self.loginLimit) { connection in
            try await connection.rows("SELECT group_name FROM group_members WHERE username = \(username) ORDER BY group_name")
                .map { try $0.get("group_name") }
        }
    }

    static func noSuchGroup(_ name: String) -> StoreError {
        StoreError(.noSuchGroup, "no group \(name)")
    }
}
