import CountersignApp
import SQLiteStore
import Foundation
import MFACore
import Testing
import UserImport

/// `countersign user import` and `export` against a store in memory: all or nothing, one audit event, round trip.
@Suite struct ImportExportTests {
    static let hasher = PasswordHasher(cost: .testing)
    static let secret = UserRecordReaderTests.secret
    let admin: CountersignAdmin

    init() throws {
        admin = CountersignAdmin(
            store: try SQLiteStore.inMemory(), issuer: "Countersign", publicURL: "http://127.0.0.1", hasher: Self.hasher)
    }

    @discardableResult
    func importText(_ text: String, _ format: ImportFormat, update: Bool = false) async throws -> CountersignAdmin.ImportResult {
        try await admin.importUsers(
            reading: { try format.reader(ByteSource(text)) }, source: "users.\(format.rawValue)", format: format,
            updatingExisting: update)
    }

    func expectAliceAndBob() async throws {
        let alice = try #require(try await admin.store.credentials(for: "alice"))
        #expect(Self.hasher.verify("correct horse", against: alice.passwordHash))
        #expect(alice.totp?.secret == Base32.decode(Self.secret))
        #expect(alice.totp?.parameters == .standard)
        let bob = try #require(try await admin.store.credentials(for: "bob"))
        #expect(Self.hasher.verify("battery staple", against: bob.passwordHash))
        #expect(bob.totp == nil)
        #expect(try await admin.users().map(\.name) == ["alice", "bob"])
    }

    @Test func csvImport() async throws {
        let result = try await importText(
            "username,password,totp_secret\nalice,correct horse,\(Self.secret)\nbob,battery staple,\n", .csv)
        #expect(result.summary == ImportSummary(added: 2))
        try await expectAliceAndBob()
        let events = try await admin.store.events(type: "user_import").map(\.event)
        #expect(events.count == 1)
        #expect(events[0].details == ["count": "2", "added": "2", "updated": "0", "source": "users.csv", "format": "csv"])
        #expect(try await admin.store.events().count == 1, "one event for the whole import")
    }

    @Test func jsonImport() async throws {
        try await importText(
            #"[{"username": "alice", "password": "correct horse", "totp_secret": "\#(Self.secret)"}, {"username": "bob", "password": "battery staple", "totp_secret": null}]"#,
            .json)
        try await expectAliceAndBob()
    }

    @Test func freeRADIUSImport() async throws {
        let result = try await importText(
            """
            alice  Cleartext-Password := "correct horse", TOTP-Secret := "\(Self.secret)"
                   Reply-Message := "Welcome"
            bob    Cleartext-Password := "battery staple"
            """, .freeradius)
        try await expectAliceAndBob()
        #expect(result.warnings.map(\.kind) == ["reply item Reply-Message is not imported"])
    }

    @Test func aBadLineThreeNamesItAndChangesNothing() async throws {
        try await admin.addUser("zoe", password: "pw")
        let before = try await admin.store.events().count
        await #expect {
            try await importText("username,password,totp_secret\nalice,correct horse,\(Self.secret)\nbob,pw,NOT-BASE32\n", .csv)
        } throws: { error in
            (error as? ImportError)?.code == .badSecret && (error as? ImportError)?.line == 3
        }
        #expect(try await admin.users().map(\.name) == ["zoe"])
        #expect(try await admin.store.events().count == before, "no user_import event")
    }

    /// The error comes after a whole batch was written inside the transaction: still nothing stays.
    @Test func aBadLineInALaterBatchChangesNothing() async throws {
        let count = CountersignAdmin.importBatchSize + 10
        var text = "username,totp_secret\n"
        for index in 0..<count { text += "user\(index),\(Self.secret)\n" }
        text += "user7,\(Self.secret)\n"
        await #expect {
            try await importText(text, .csv)
        } throws: { error in
            (error as? ImportError)?.code == .duplicateName && (error as? ImportError)?.line == count + 2
        }
        #expect(try await admin.users().isEmpty)
        text.removeLast("user7,\(Self.secret)\n".count)
        #expect(try await importText(text, .csv).summary.added == count)
        #expect(try await admin.users().count == count)
    }

    /// Hashes are computed in a first pass; a file that changed before the second must not swap passwords.
    @Test func aFileChangedBetweenThePassesChangesNothing() async throws {
        let versions = ["username,password\nalice,one\nbob,two\n", "username,password\nbob,two\nalice,one\n"]
        var opened = 0
        await #expect {
            try await admin.importUsers(
                reading: {
                    opened += 1
                    return try ImportFormat.csv.reader(ByteSource(versions[opened - 1]))
                }, source: "users.csv", format: .csv)
        } throws: { error in
            (error as? ImportError)?.code == .io && (error as? ImportError)?.line == 2
        }
        #expect(try await admin.users().isEmpty)
    }

    @Test func existingUsersAreRefusedWithoutUpdate() async throws {
        try await admin.addUser("bob", password: "old password")
        _ = try await admin.enrollTOTP("bob")
        #expect(try await admin.store.recordAcceptedTOTPStep(100, for: "bob"))
        let text = "username,password,totp_secret\nalice,correct horse,\(Self.secret)\nbob,battery staple,\(Self.secret)\n"
        await #expect {
            try await importText(text, .csv)
        } throws: { error in
            (error as? StoreError)?.code == .userExists && "\(error)".hasPrefix("line 3: user bob already exists")
        }
        #expect(try await admin.users().map(\.name) == ["bob"])
        #expect(Self.hasher.verify("old password", against: try await admin.store.credentials(for: "bob")?.passwordHash))

        let result = try await importText(text, .csv, update: true)
        #expect(result.summary == ImportSummary(added: 1, updated: 1))
        try await expectAliceAndBobUpdated()
        // A new secret is a new enrollment: the steps accepted for the old one no longer count.
        #expect(try await admin.store.recordAcceptedTOTPStep(50, for: "bob"))
    }

    func expectAliceAndBobUpdated() async throws {
        let bob = try #require(try await admin.store.credentials(for: "bob"))
        #expect(Self.hasher.verify("battery staple", against: bob.passwordHash))
        #expect(bob.totp?.secret == Base32.decode(Self.secret))
        #expect(try await admin.users().map(\.name) == ["alice", "bob"])
    }

    /// Update without a password or secret leaves them as they were.
    @Test func updateKeepsWhatTheFileLeavesOut() async throws {
        try await admin.addUser("bob", password: "old password")
        try await importText("username\nbob\n", .csv, update: true)
        #expect(Self.hasher.verify("old password", against: try await admin.store.credentials(for: "bob")?.passwordHash))
    }

    /// Groups named in the file are made when missing, in the import's transaction; one audit event says how many.
    @Test func csvImportWithGroups() async throws {
        try await admin.addGroup("vpn")
        let result = try await importText("username,groups\nalice,vpn;admins\nbob,admins\ncarol,\n", .csv)
        #expect(result.summary == ImportSummary(added: 3, groupsCreated: 1))
        #expect(try await admin.groups() == [GroupSummary(name: "admins", memberCount: 2), GroupSummary(name: "vpn", memberCount: 1)])
        #expect(try await admin.store.groups(of: "alice") == ["admins", "vpn"])
        let event = try #require(try await admin.store.events(type: "user_import").last?.event)
        #expect(event.details["groups_created"] == "1")
    }

    /// A bad group name stops the import on its line: no user, no group.
    @Test func aBadGroupNameChangesNothing() async throws {
        await #expect {
            try await importText("username,groups\nalice,vpn\nbob,\"ok;a\u{7F}b\"\n", .csv)
        } throws: { error in
            (error as? ImportError)?.code == .invalidGroupName && (error as? ImportError)?.line == 3
        }
        #expect(try await admin.users().isEmpty)
        #expect(try await admin.groups().isEmpty)
    }

    /// --update with the column: exactly the listed groups; without it, the memberships stay.
    @Test func updateSetsTheListedGroupsOnly() async throws {
        try await admin.addUser("alice", password: "pw")
        try await admin.addUser("bob", password: "pw")
        try await admin.addGroup("vpn")
        try await admin.changeMembers(of: "vpn", adding: ["alice", "bob"])
        try await importText(#"[{"username": "alice", "groups": ["wifi"]}, {"username": "bob"}]"#, .json, update: true)
        #expect(try await admin.store.groups(of: "alice") == ["wifi"])
        #expect(try await admin.store.groups(of: "bob") == ["vpn"])
        try await importText("username,groups\nbob,\n", .csv, update: true)
        #expect(try await admin.store.groups(of: "bob").isEmpty)
    }

    @Test(arguments: [UserExportEncoder.Format.csv, .json])
    func exportThenImportGivesTheSameUsersAndCodes(format: UserExportEncoder.Format) async throws {
        try await admin.addUser("alice", password: "pw")
        _ = try await admin.enrollTOTP("alice")
        try await admin.addUser("bob, \"the builder\"", password: nil)
        _ = try await admin.enrollTOTP("bob, \"the builder\"")
        try await admin.addUser("carol", password: nil)
        for group in ["vpn", "CN=Ops,OU=IT", "nobody"] { try await admin.addGroup(group) }
        try await admin.changeMembers(of: "vpn", adding: ["alice", "bob, \"the builder\""])
        try await admin.changeMembers(of: "CN=Ops,OU=IT", adding: ["alice"])

        let encoder = UserExportEncoder(format: format, includeSecrets: true)
        var text = encoder.header
        var count = 0
        try await admin.exportUsers(includeSecrets: true) { row, _ in
            text += encoder.encode(row, first: count == 0)
            count += 1
        }
        text += encoder.footer(empty: count == 0)
        #expect(!text.contains("$scrypt$"))

        let copy = CountersignAdmin(
            store: try SQLiteStore.inMemory(), issuer: "Countersign", publicURL: "http://127.0.0.1", hasher: Self.hasher)
        let imported = try await copy.importUsers(
            reading: { try (format == .csv ? ImportFormat.csv : .json).reader(ByteSource(text)) }, source: "export", format: .csv)
        #expect(imported.summary.added == 3)
        #expect(try await copy.users().map(\.name) == (try await admin.users().map(\.name)))
        #expect(try await copy.users().map(\.totpEnrolled) == [true, true, false])
        // Groups with members come back; an empty one is in no row, so not.
        #expect(try await copy.groups() == [GroupSummary(name: "CN=Ops,OU=IT", memberCount: 1), GroupSummary(name: "vpn", memberCount: 2)])
        #expect(try await copy.store.groups(of: "alice") == ["CN=Ops,OU=IT", "vpn"])
        let now = Date()
        for name in ["alice", "bob, \"the builder\""] {
            let original = try #require(try await admin.store.credentials(for: name)?.totp)
            let restored = try #require(try await copy.store.credentials(for: name)?.totp)
            #expect(OneTimeCode.totp(secret: restored.secret, at: now) == OneTimeCode.totp(secret: original.secret, at: now))
        }
    }

    @Test func exportWithoutSecretsHasNone() async throws {
        try await admin.addUser("alice", password: "pw")
        _ = try await admin.enrollTOTP("alice")
        var rows: [ExportRow] = []
        try await admin.exportUsers(includeSecrets: false) { row, hasPassword in
            rows.append(row)
            #expect(hasPassword)
        }
        #expect(rows == [ExportRow(username: "alice", mfa: .totp, totpSecret: nil, groups: [])])
        let event = try #require(try await admin.store.events(type: "user_export").last?.event)
        #expect(event.details == ["count": "1", "include_secrets": "false"])
    }
}
