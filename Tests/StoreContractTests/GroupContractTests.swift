import Foundation
import MFACore
import Testing

/// Local groups: what `countersign group …`, the import and export, and `store copy` promise on every backend.
extension StoreContractTests {
    // MARK: Groups

    @Test(arguments: Backend.allCases)
    func groupsAreAddedListedAndDeleted(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addGroup("vpn", at: now)
            try await store.addGroup("Admins", at: now)
            try await store.addGroup("jürgens", at: now)
            await #expect(throws: StoreError(.groupExists, "")) { try await store.addGroup("vpn", at: now) }
            for name in ["", "a;b", "line\nbreak", String(repeating: "g", count: 254)] {
                await #expect(throws: StoreError(.invalidGroupName, "")) { try await store.addGroup(name, at: now) }
            }
            // Byte order, as users are listed.
            #expect(try await database.store().groups().map(\.name) == ["Admins", "jürgens", "vpn"])

            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.addMembers(["alice"], toGroup: "vpn")
            try await store.deleteGroup("vpn")
            await #expect(throws: StoreError(.noSuchGroup, "")) { try await store.deleteGroup("vpn") }
            #expect(try await store.groups() == [GroupSummary(name: "Admins", memberCount: 0), GroupSummary(name: "jürgens", memberCount: 0)])
            // The members stay users, without the group.
            #expect(try await store.users().map(\.name) == ["alice"])
            #expect(try await store.groups(of: "alice").isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func membersAreAddedAllOrNoneAndRemoved(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            for user in ["alice", "bob", "carol"] { try await store.addUser(user, passwordHash: nil, at: now) }
            for group in ["vpn", "admins", "wifi"] { try await store.addGroup(group, at: now) }

            // An unknown user refuses the whole batch, also the users before it.
            await #expect(throws: StoreError(.noSuchUser, "")) { try await store.addMembers(["alice", "nobody", "bob"], toGroup: "vpn") }
            #expect(try await store.members(ofGroup: "vpn").isEmpty)
            await #expect(throws: StoreError(.noSuchGroup, "")) { try await store.addMembers(["alice"], toGroup: "nogroup") }
            await #expect(throws: StoreError(.noSuchGroup, "")) { try await store.members(ofGroup: "nogroup") }

            try await store.addMembers(["carol", "alice"], toGroup: "vpn")
            // A member already is no error.
            try await store.addMembers(["alice", "bob"], toGroup: "vpn")
            try await store.addMembers(["alice"], toGroup: "wifi")
            try await store.addMembers(["alice"], toGroup: "admins")
            #expect(try await database.store().members(ofGroup: "vpn") == ["alice", "bob", "carol"])
            #expect(try await database.store().groups(of: "alice") == ["admins", "vpn", "wifi"])
            #expect(try await store.groups(of: "nobody").isEmpty)
            #expect(try await store.groups().map(\.memberCount) == [1, 3, 1])

            // Not a member is no error; an unknown group is.
            try await store.removeMembers(["bob", "nobody"], fromGroup: "vpn")
            await #expect(throws: StoreError(.noSuchGroup, "")) { try await store.removeMembers(["alice"], fromGroup: "nogroup") }
            #expect(try await store.members(ofGroup: "vpn") == ["alice", "carol"])

            // A deleted user leaves every group.
            try await store.deleteUser("alice")
            #expect(try await store.members(ofGroup: "vpn") == ["carol"])
            #expect(try await store.groups(of: "alice").isEmpty)
            #expect(try await store.groups().map(\.memberCount) == [0, 1, 0])
        }
    }

    // MARK: Import and export of groups

    @Test(arguments: Backend.allCases)
    func importCreatesGroupsAndSetsMembershipsAndExportListsThem(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addGroup("vpn", at: now)
            try await store.addGroup("empty", at: now)
            try await store.addUser("existing", passwordHash: nil, at: now)
            try await store.addMembers(["existing"], toGroup: "vpn")

            let added = try await importUsers(
                [
                    ImportedUser(line: 2, name: "u1", passwordHash: nil, totpSecret: nil, groups: ["vpn", "admins"]),
                    ImportedUser(line: 3, name: "u2", passwordHash: nil, totpSecret: nil, groups: []),
                    ImportedUser(line: 4, name: "u3", passwordHash: nil, totpSecret: nil, groups: ["wifi", "admins"]),
                    ImportedUser(line: 5, name: "u4", passwordHash: nil, totpSecret: nil),
                ], into: store)
            #expect(added == ImportSummary(added: 4, updated: 0, groupsCreated: 2))
            #expect(try await store.groups().map(\.name) == ["admins", "empty", "vpn", "wifi"])
            #expect(try await store.members(ofGroup: "admins") == ["u1", "u3"])
            #expect(try await store.members(ofGroup: "vpn") == ["existing", "u1"])

            // A bad group name: its line, and nothing of the import stays (no group made either).
            let invalid = await #expect(throws: StoreError(.invalidGroupName, "")) {
                try await importUsers(
                    [
                        ImportedUser(line: 2, name: "new1", passwordHash: nil, totpSecret: nil, groups: ["fresh"]),
                        ImportedUser(line: 3, name: "new2", passwordHash: nil, totpSecret: nil, groups: ["bad;name"]),
                    ], into: store)
            }
            #expect(invalid?.message.contains("line 3") == true)
            #expect(try await store.groups().map(\.name) == ["admins", "empty", "vpn", "wifi"])
            #expect(try await store.user("new1") == nil)

            // --update: the listed groups become the user's groups exactly; no column leaves them alone.
            let updated = try await importUsers(
                [
                    ImportedUser(line: 2, name: "existing", passwordHash: nil, totpSecret: nil, groups: ["admins", "staff"]),
                    ImportedUser(line: 3, name: "u1", passwordHash: nil, totpSecret: nil),
                    ImportedUser(line: 4, name: "u3", passwordHash: nil, totpSecret: nil, groups: []),
                ], updating: true, into: store)
            #expect(updated == ImportSummary(added: 0, updated: 3, groupsCreated: 1))
            #expect(try await store.groups(of: "existing") == ["admins", "staff"])
            #expect(try await store.groups(of: "u1") == ["admins", "vpn"])
            #expect(try await store.groups(of: "u3").isEmpty)

            var exported: [String: [String]] = [:]
            try await database.store().forEachUser(includeSecrets: false) { exported[$0.name] = $0.groups }
            #expect(exported == ["existing": ["admins", "staff"], "u1": ["admins", "vpn"], "u2": [], "u3": [], "u4": []])
        }
    }

    // MARK: Copy

    /// Records moved as `store copy` moves them: each through JSON.
    func copy(from source: any GatewayStore, to target: any GatewayStore) async throws -> StoreCopySummary {
        var lines: [Data] = []
        try await source.forEachRecord { lines.append(try JSONEncoder().encode($0)) }
        var rest = lines[...]
        return try await target.load { try rest.popFirst().map { try JSONDecoder().decode(StoreRecord.self, from: $0) } }
    }

    /// SQLite to PostgreSQL and back: the groups (one without members) and memberships come along.
    @Test func copyKeepsGroups() async throws {
        try await TestDatabase.with(.sqlite) { sqlite in
            try await TestDatabase.with(.postgresql) { postgresql in
                let source = try sqlite.store()
                for user in ["alice", "bob"] { try await source.addUser(user, passwordHash: nil, at: now) }
                for group in ["vpn", "admins", "nobody-yet"] { try await source.addGroup(group, at: now + 1) }
                try await source.addMembers(["alice", "bob"], toGroup: "vpn")
                try await source.addMembers(["bob"], toGroup: "admins")

                func expectGroups(_ store: any GatewayStore) async throws {
                    #expect(
                        try await store.groups() == [
                            GroupSummary(name: "admins", memberCount: 1), GroupSummary(name: "nobody-yet", memberCount: 0),
                            GroupSummary(name: "vpn", memberCount: 2),
                        ])
                    #expect(try await store.groups(of: "bob") == ["admins", "vpn"])
                }
                let target = try postgresql.store()
                #expect(try await copy(from: source, to: target) == StoreCopySummary(users: 2, devices: 0, groups: 3))
                try await expectGroups(target)

                try await TestDatabase.with(.sqlite) { back in
                    #expect(try await copy(from: target, to: try back.store()).groups == 3)
                    try await expectGroups(try back.store())
                }
            }
        }
    }

    /// A group alone, or an admin alone, makes a store not empty: a copy into it would clash.
    @Test(arguments: Backend.allCases)
    func copyRefusesAStoreWithGroupsOrAdmins(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addGroup("vpn", at: now)
            await #expect(throws: StoreError(.storeNotEmpty, "")) { try await store.load { nil } }
            try await store.deleteGroup("vpn")
            try await store.addAdmin("root", passwordHash: "$scrypt$hash", at: now)
            await #expect(throws: StoreError(.storeNotEmpty, "")) { try await store.load { nil } }
        }
    }

}
