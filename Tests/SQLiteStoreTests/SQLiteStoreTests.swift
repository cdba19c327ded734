import Crypto
import Foundation
import MFACore
import Testing

@testable import SQLiteStore

@Suite struct SQLiteStoreTests {
    let store: SQLiteStore

    init() throws {
        store = try SQLiteStore.inMemory()
    }

    @Test func usersAreAddedListedAndDeleted() async throws {
        try await store.addUser("alice", passwordHash: "$scrypt$x")
        try await store.addUser("jürgen", passwordHash: nil)
        await #expect(throws: StoreError(.userExists, "")) { try await store.addUser("alice", passwordHash: nil) }
        #expect(try await store.users().map(\.name) == ["alice", "jürgen"])
        #expect(try await store.user("alice")?.hasPassword == true)
        #expect(try await store.user("jürgen")?.hasPassword == false)
        try await store.deleteUser("alice")
        await #expect(throws: StoreError(.noSuchUser, "")) { try await store.deleteUser("alice") }
        #expect(try await store.user("alice") == nil)
    }

    @Test func badNamesAreRefused() async throws {
        for name in ["", String(repeating: "a", count: 254), "a\u{0}b", "line\nbreak"] {
            await #expect(throws: StoreError(.invalidUsername, "")) { try await store.addUser(name, passwordHash: nil) }
        }
    }

    @Test func totpSecretRoundTripsEncrypted() async throws {
        try await store.addUser("alice", passwordHash: nil)
        let enrollment = TOTPEnrollment.generate()
        try await store.enrollTOTP(enrollment, for: "alice")
        let credentials = try #require(try await store.credentials(for: "alice"))
        #expect(credentials.totp?.secret == enrollment.secret)
        #expect(try await store.user("alice")?.totpEnrolled == true)
        await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await store.enrollTOTP(.generate(), for: "alice") }
        try await store.deleteTOTP(for: "alice")
        #expect(try await store.credentials(for: "alice")?.totp == nil)
        await #expect(throws: StoreError(.notEnrolled, "")) { try await store.deleteTOTP(for: "alice") }
    }

    @Test func acceptedStepsOnlyMoveForward() async throws {
        try await store.addUser("alice", passwordHash: nil)
        try await store.enrollTOTP(.generate(), for: "alice")
        #expect(try await store.recordAcceptedTOTPStep(100, for: "alice"))
        #expect(try await store.recordAcceptedTOTPStep(100, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(99, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(101, for: "alice"))
        #expect(try await store.recordAcceptedTOTPStep(1, for: "nobody") == false)
    }

    @Test func secretsAreBoundToTheirUser() throws {
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let sealed = try box.seal([1, 2, 3], for: "alice")
        #expect(try box.open(sealed, for: "alice") == [1, 2, 3])
        #expect(throws: StoreError(.corruptSecret, "")) { try box.open(sealed, for: "bob") }
        #expect(throws: StoreError(.corruptSecret, "")) {
            try SecretBox(key: SymmetricKey(size: .bits256)).open(sealed, for: "alice")
        }
    }

    @Test func eventsFilterAndLimit() async throws {
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        try await store.append(
            (0..<5).map { i in
                AuditEvent(
                    time: base.addingTimeInterval(Double(i)), type: i.isMultiple(of: 2) ? .radiusAuth : .totpAttempt,
                    user: i < 3 ? "alice" : "bob", result: .success, details: ["n": "\(i)"])
            })
        #expect(try await store.events().map { $0.event.details["n"] } == ["0", "1", "2", "3", "4"])
        #expect(try await store.events(limit: 2).map { $0.event.details["n"] } == ["3", "4"])
        #expect(try await store.events(user: "alice", type: "radius_auth").map { $0.event.details["n"] } == ["0", "2"])
        let all = try await store.events()
        #expect(try await store.events(after: all[2].id).count == 2)
        #expect(all[0].event.time == base)
    }

    @Test func filesAreCreatedPrivate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sub/countersign.db"
        let store = try SQLiteStore.open(path: path, keyPath: path + ".key")
        try await store.addUser("alice", passwordHash: nil)
        for file in [path, path + ".key"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(file)")
        }
        // Reopening uses the same key: an enrolled secret still opens.
        try await store.enrollTOTP(TOTPEnrollment(secret: [9, 9, 9]), for: "alice")
        let reopened = try SQLiteStore.open(path: path, keyPath: path + ".key")
        #expect(try await reopened.credentials(for: "alice")?.totp?.secret == [9, 9, 9])
    }

    @Test func theKeyFromTheEnvironmentIsUsedAndNoKeyFileIsMade() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/countersign.db"
        let key = SymmetricKey(size: .bits256)
        let environment = [SecretBox.keyVariable: key.withUnsafeBytes { Data($0) }.base64EncodedString() + "\n"]
        let store = try SQLiteStore.open(path: path, keyPath: path + ".key", environment: environment)
        try await store.addUser("alice", passwordHash: nil)
        try await store.enrollTOTP(TOTPEnrollment(secret: [7, 7, 7]), for: "alice")
        let signingKey = try await store.serverSigningKey()
        #expect(!FileManager.default.fileExists(atPath: path + ".key"))

        // The same key opens what was sealed; a key file made instead (no variable) does not.
        let reopened = try SQLiteStore.open(path: path, keyPath: path + ".key", environment: environment)
        #expect(try await reopened.credentials(for: "alice")?.totp?.secret == [7, 7, 7])
        #expect(try await reopened.serverSigningKey().rawRepresentation == signingKey.rawRepresentation)
        let withKeyFile = try SQLiteStore.open(path: path, keyPath: path + ".key", environment: [:])
        await #expect(throws: StoreError(.corruptSecret, "")) { try await withKeyFile.credentials(for: "alice") }
    }

    @Test func aMalformedKeyVariableIsRefusedByNameWithoutItsValue() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/countersign.db"
        let tooShort = Data(repeating: 1, count: 16).base64EncodedString()
        for value in ["", "not base64!", tooShort, Data(repeating: 1, count: 33).base64EncodedString()] {
            let error = #expect(throws: StoreError(.badKeyVariable, "")) {
                try SQLiteStore.open(path: path, keyPath: path + ".key", environment: [SecretBox.keyVariable: value])
            }
            #expect(error?.message.contains(SecretBox.keyVariable) == true)
            #expect(value.isEmpty || error?.message.contains(value) == false)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + ".key"))
    }
}

/// A user's second login reads from memory, also while this process's logins commit around it (each commit moves
/// `PRAGMA data_version` for the change log's connection, and an empty look must change nothing).
@Suite struct CredentialsCacheSQLiteTests {
    /// A store in a folder of its own that notes each operation it times, for `body`.
    func withTimedStore(_ body: (SQLiteStore, Locked<[StoreOperation]>) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-cache-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let operations = Locked<[StoreOperation]>([])
        let store = try SQLiteStore.open(
            path: folder + "/store.db", keyPath: folder + "/store.key",
            timing: { operation, _ in operations.withLock { $0.append(operation) } })
        try await body(store, operations)
    }

    @Test func aSecondLoginReadsFromMemoryBetweenCommits() async throws {
        try await withTimedStore { store, operations in
            try await store.addUser("alice", passwordHash: nil)
            try await store.enrollTOTP(TOTPEnrollment.generate(), for: "alice")
            for step in Int64(1)...3 {
                #expect(try await store.credentials(for: "alice")?.totp != nil)
                #expect(try await store.recordAcceptedTOTPStep(step, for: "alice"))
            }
            let reads = operations.withLock { $0.filter { $0 != .commit } }
            #expect(reads == [.credentialsRead, .credentialsCached, .credentialsCached])
        }
    }
}

extension CredentialsCacheSQLiteTests {
    /// The LDAP proxy prepares a bind's login while the directory checks the password: the code's step is committed
    /// with the read, and the decision takes what was read then and neither reads nor commits anything more. A wrong
    /// password gives the step back; prepared for another user, the read is not used.
    @Test func aPreparedLoginReadsAndWritesNothingMore() async throws {
        try await withTimedStore { store, operations in
            let enrollment = TOTPEnrollment.generate()
            try await store.addUser("alice", passwordHash: nil)
            try await store.enrollTOTP(enrollment, for: "alice")
            let clock = ManualWallClock(Date(timeIntervalSince1970: 1_700_000_000))
            let audit = RecordingAudit()
            let mfa = MFAAuthenticator(store: store, audit: audit, clock: clock)
            func bind(_ user: String, _ password: PrimaryVerdict, _ prepared: PreparedCredentials?, code: String) -> LoginAttempt {
                LoginAttempt(
                    username: user, secret: "", delivery: .afterPrimary(.code(code), primary: password),
                    resource: Resource(kind: .ldap, name: "directory"), clientAddress: "192.0.2.1", prepared: prepared)
            }

            let code = OneTimeCode.totp(secret: enrollment.secret, at: clock.now())
            let prepared = await mfa.prepare(for: "alice", code: code)
            #expect(audit.events.withLock { $0.isEmpty })
            #expect(operations.withLock { $0 } == [.credentialsRead, .commit])
            #expect(await mfa.authenticate(bind("alice", .valid(Grant()), prepared, code: code)) == .accept)
            #expect(operations.withLock { $0 } == [.credentialsRead, .commit])
            #expect(audit.events.withLock { $0.map(\.type) } == [.ldapBind])

            // A mistyped password: its step goes back, and the retry with the same code is accepted.
            clock.advance(by: 30)
            let next = OneTimeCode.totp(secret: enrollment.secret, at: clock.now())
            let mistyped = await mfa.prepare(for: "alice", code: next)
            #expect(mistyped?.reservedStep != nil)
            #expect(await mfa.authenticate(bind("alice", .invalid, mistyped, code: next)) == .reject(.invalidCredentials))
            let retry = await mfa.prepare(for: "alice", code: next)
            #expect(retry?.reservedStep != nil)
            #expect(await mfa.authenticate(bind("alice", .valid(Grant()), retry, code: next)) == .accept)

            // What was prepared for alice decides nothing for mallory: mallory's decision reads mallory.
            let alices = await mfa.prepare(for: "alice", code: nil)
            operations.withLock { $0 = [] }
            #expect(await mfa.authenticate(bind("mallory", .valid(Grant()), alices, code: next)) != .accept)
            #expect(operations.withLock { $0.filter { $0 == .credentialsRead || $0 == .credentialsCached } } == [.credentialsRead])
        }
    }

    final class RecordingAudit: AuditSink {
        let events = Locked<[AuditEvent]>([])
        func record(_ event: AuditEvent) async { events.withLock { $0.append(event) } }
    }

    /// Sixteen logins at a time, each user twice: the second round reads from memory.
    @Test func concurrentLoginsOfReturningUsersReadFromMemory() async throws {
        try await withTimedStore { store, operations in
            let users = (0..<200).map { "user\($0)" }
            for user in users {
                try await store.addUser(user, passwordHash: nil)
                try await store.enrollTOTP(TOTPEnrollment.generate(), for: user)
            }
            for step in Int64(1)...2 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, user) in users.enumerated() {
                        if index >= 16 { try await group.next() }
                        group.addTask {
                            _ = try await store.credentials(for: user)
                            _ = try await store.recordAcceptedTOTPStep(step, for: user)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let all = operations.withLock { $0 }
            let (read, cached) = (all.count { $0 == .credentialsRead }, all.count { $0 == .credentialsCached })
            #expect(read == 200 && cached == 200, "read \(read), cached \(cached)")
        }
    }
}
