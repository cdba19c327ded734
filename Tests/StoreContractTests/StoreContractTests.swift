import Crypto
import DeviceProtocol
import Foundation
import MFACore
import Testing

/// What every store promises, checked against each backend: SQLite (a file) and PostgreSQL (a database of its own
/// per test on the server Scripts/postgres starts). Where a promise is about several nodes, two store instances on
/// one database stand for them. Challenges and the push cluster are PostgreSQL's alone: a single node keeps them in
/// memory (ChallengeBook, PushCoordinator), so those tests run on PostgreSQL only.
@Suite struct StoreContractTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    func device(_ id: String = "dev-1", user: String = "alice", webAuthn: WebAuthnCredential? = nil) -> EnrolledDevice {
        EnrolledDevice(
            id: id, username: user, publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey), name: "phone",
            platform: "linux", enrolledAt: now, webAuthn: webAuthn)
    }

    // MARK: Users

    @Test(arguments: Backend.allCases)
    func usersAreAddedListedAndDeleted(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: "$scrypt$x", at: now)
            try await store.addUser("jürgen", passwordHash: nil, at: now)
            try await store.addUser("Bob", passwordHash: nil, at: now)
            await #expect(throws: StoreError(.userExists, "")) { try await store.addUser("alice", passwordHash: nil) }
            // Byte order, whatever the database's collation.
            #expect(try await store.users().map(\.name) == ["Bob", "alice", "jürgen"])
            let alice = try #require(try await store.user("alice"))
            #expect(alice.hasPassword && !alice.totpEnrolled && alice.device == nil && alice.createdAt == now)
            #expect(try await store.user("jürgen")?.hasPassword == false)
            try await store.deleteUser("alice")
            await #expect(throws: StoreError(.noSuchUser, "")) { try await store.deleteUser("alice") }
            #expect(try await store.user("alice") == nil)
            #expect(try await store.credentials(for: "alice") == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func badNamesAreRefused(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            for name in ["", String(repeating: "a", count: 254), "a\u{0}b", "line\nbreak"] {
                await #expect(throws: StoreError(.invalidUsername, "")) { try await store.addUser(name, passwordHash: nil) }
            }
            #expect(try await store.users().isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func passwordsChange(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: "$scrypt$old", at: now)
            try await store.setPasswordHash("$scrypt$new", for: "alice")
            #expect(try await store.credentials(for: "alice")?.passwordHash == "$scrypt$new")
            try await store.setPasswordHash(nil, for: "alice")
            #expect(try await store.user("alice")?.hasPassword == false)
            await #expect(throws: StoreError(.noSuchUser, "")) { try await store.setPasswordHash("x", for: "nobody") }
        }
    }

    // MARK: TOTP

    @Test(arguments: Backend.allCases)
    func totpSecretsAreSealedAndKept(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            let enrollment = TOTPEnrollment(secret: Array(repeating: 7, count: 20), parameters: TOTPParameters(digits: 8, period: 60))
            try await store.enrollTOTP(enrollment, for: "alice", at: now)
            // Another instance (another node) opens it with the shared key.
            let credentials = try #require(try await database.store().credentials(for: "alice"))
            #expect(credentials.totp?.secret == enrollment.secret)
            #expect(credentials.totp?.parameters == enrollment.parameters)
            #expect(try await store.user("alice")?.totpEnrolled == true)
            #expect(try await store.user("alice")?.totpEnrolledAt == now)
            await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await store.enrollTOTP(.generate(), for: "alice") }
            await #expect(throws: StoreError(.noSuchUser, "")) { try await store.enrollTOTP(.generate(), for: "nobody") }
            try await store.deleteTOTP(for: "alice")
            #expect(try await store.credentials(for: "alice")?.totp == nil)
            await #expect(throws: StoreError(.notEnrolled, "")) { try await store.deleteTOTP(for: "alice") }
            await #expect(throws: StoreError(.noSuchUser, "")) { try await store.deleteTOTP(for: "nobody") }
        }
    }

    @Test(arguments: Backend.allCases)
    func acceptedStepsOnlyMoveForward(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.enrollTOTP(.generate(), for: "alice", at: now)
            #expect(try await store.recordAcceptedTOTPStep(100, for: "alice"))
            #expect(try await store.recordAcceptedTOTPStep(100, for: "alice") == false)
            #expect(try await store.recordAcceptedTOTPStep(99, for: "alice") == false)
            #expect(try await store.recordAcceptedTOTPStep(101, for: "alice"))
            #expect(try await store.recordAcceptedTOTPStep(1, for: "nobody") == false)
            // A new secret starts afresh.
            try await store.deleteTOTP(for: "alice")
            try await store.enrollTOTP(.generate(), for: "alice", at: now)
            #expect(try await store.recordAcceptedTOTPStep(50, for: "alice"))
        }
    }

    /// A step recorded for an attempt that then failed goes back to the step before it, only while it is the last
    /// one: a later step, recorded on another node too, stays, and a step given back twice is given back once.
    @Test(arguments: Backend.allCases)
    func aReleasedStepGoesBackToTheOneBefore(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addUser("alice", passwordHash: nil, at: now)
            try await nodes[0].enrollTOTP(.generate(), for: "alice", at: now)
            // The first step of a secret: released, the record is empty again.
            #expect(try await nodes[0].recordAcceptedTOTPStep(100, for: "alice"))
            try await nodes[0].releaseTOTPStep(100, for: "alice")
            #expect(try await nodes[1].recordAcceptedTOTPStep(100, for: "alice"))
            #expect(try await nodes[0].recordAcceptedTOTPStep(102, for: "alice"))
            try await nodes[0].releaseTOTPStep(102, for: "alice")
            try await nodes[0].releaseTOTPStep(102, for: "alice")
            #expect(try await nodes[1].recordAcceptedTOTPStep(100, for: "alice") == false)
            #expect(try await nodes[1].recordAcceptedTOTPStep(101, for: "alice"))
            // 101 is the last step: 100 is not it, and giving 100 back changes nothing.
            try await nodes[0].releaseTOTPStep(100, for: "alice")
            #expect(try await nodes[0].recordAcceptedTOTPStep(101, for: "alice") == false)
            #expect(try await nodes[0].recordAcceptedTOTPStep(102, for: "alice"))
            #expect(try await nodes[1].recordAcceptedTOTPStep(103, for: "alice"))
            try await nodes[0].releaseTOTPStep(102, for: "alice")
            #expect(try await nodes[0].recordAcceptedTOTPStep(103, for: "alice") == false)
            try await nodes[1].releaseTOTPStep(1, for: "nobody")
        }
    }

    /// The same code at the same moment on two nodes: 20 tasks over two instances, one acceptance.
    @Test(arguments: Backend.allCases)
    func aStepIsAcceptedOnceAcrossNodes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addUser("alice", passwordHash: nil, at: now)
            try await nodes[0].enrollTOTP(.generate(), for: "alice", at: now)
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask { try await nodes[index % 2].recordAcceptedTOTPStep(1000, for: "alice") }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 1)
            #expect(try await nodes[1].recordAcceptedTOTPStep(999, for: "alice") == false)
        }
    }

    // MARK: Lockout

    @Test(arguments: Backend.allCases)
    func failuresCountWithinTheWindow(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            let policy = LockoutPolicy(maxFailures: 3, window: 900, duration: 600)
            #expect(try await store.recordFailure(for: "alice", now: now, policy: policy) == false)
            #expect(try await store.recordFailure(for: "alice", now: now + 100, policy: policy) == false)
            #expect(try await store.credentials(for: "alice")?.failedAttempts == 2)
            // Past the window a new run begins.
            #expect(try await store.recordFailure(for: "alice", now: now + 1000, policy: policy) == false)
            #expect(try await store.credentials(for: "alice")?.failedAttempts == 1)
            #expect(try await store.recordFailure(for: "alice", now: now + 1001, policy: policy) == false)
            #expect(try await store.recordFailure(for: "alice", now: now + 1002, policy: policy))
            let locked = try #require(try await store.credentials(for: "alice"))
            #expect(locked.lockedUntil == now + 1602)
            #expect(locked.failedAttempts == 0)
            #expect(try await store.user("alice")?.lockedUntil == now + 1602)
            try await store.clearFailures(for: "alice")
            try await store.flush()
            #expect(try await store.credentials(for: "alice")?.lockedUntil == nil)
            #expect(try await store.recordFailure(for: "nobody", now: now, policy: policy) == false)
        }
    }

    /// Failures on two nodes count together, and exactly one of them locks.
    @Test(arguments: Backend.allCases)
    func lockoutCountsAcrossNodesAndLocksOnce(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addUser("alice", passwordHash: nil, at: now)
            let policy = LockoutPolicy(maxFailures: 10, window: 900, duration: 600)
            let now = self.now
            let locks = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<15 {
                    group.addTask { try await nodes[index % 2].recordFailure(for: "alice", now: now, policy: policy) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(locks == 1)
            let credentials = try #require(try await nodes[1].credentials(for: "alice"))
            #expect(credentials.lockedUntil == now + 600)
            #expect(credentials.failedAttempts == 5)
            try await nodes[1].unlock("alice")
            #expect(try await nodes[0].credentials(for: "alice")?.lockedUntil == nil)
            #expect(try await nodes[0].credentials(for: "alice")?.failedAttempts == 0)
            await #expect(throws: StoreError(.noSuchUser, "")) { try await nodes[0].unlock("nobody") }
        }
    }

    // MARK: Enrollment codes and devices

    @Test(arguments: Backend.allCases)
    func anEnrollmentCodeWorksOnceAndOnlyBeforeItExpires(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.createEnrollmentCode("CODE1", for: "alice", expires: now + 600)
            #expect(try await store.redeemEnrollmentCode("CODE1", now: now) == "alice")
            #expect(try await store.redeemEnrollmentCode("CODE1", now: now) == nil)
            try await store.createEnrollmentCode("CODE2", for: "alice", expires: now + 600)
            #expect(try await store.redeemEnrollmentCode("CODE2", now: now + 600) == nil)
            // An expired code is used up too.
            #expect(try await store.redeemEnrollmentCode("CODE2", now: now) == nil)
            #expect(try await store.redeemEnrollmentCode("NEVER", now: now) == nil)
            await #expect(throws: StoreError(.noSuchUser, "")) {
                try await store.createEnrollmentCode("CODE3", for: "nobody", expires: now + 600)
            }
        }
    }

    /// Two nodes redeeming one code at once: one of them gets the user.
    @Test(arguments: Backend.allCases)
    func anEnrollmentCodeRedeemedOnTwoNodesAtOnceWorksOnce(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addUser("alice", passwordHash: nil, at: now)
            try await nodes[0].createEnrollmentCode("RACE", for: "alice", expires: now + 600)
            let now = self.now
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<10 { group.addTask { try await nodes[index % 2].redeemEnrollmentCode("RACE", now: now) } }
                return try await group.compactMap { $0 }.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(winners == ["alice"])
        }
    }

    @Test(arguments: Backend.allCases)
    func oneDevicePerUser(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            let webAuthn = WebAuthnCredential(id: "AQID", publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey))
            let first = device(webAuthn: webAuthn)
            try await store.addDevice(first)
            await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await store.addDevice(device("dev-2")) }
            await #expect(throws: StoreError(.alreadyEnrolled, "")) {
                try await store.createEnrollmentCode("CODE", for: "alice", expires: now + 600)
            }
            #expect(try await store.device(id: "dev-1") == first)
            #expect(try await store.device(forUser: "alice") == first)
            #expect(try await store.credentials(for: "alice")?.device == first)
            #expect(try await store.user("alice")?.device?.webAuthn == webAuthn)
            #expect(try await store.device(id: "dev-1")?.lastUsed == nil)
            try await store.touchDevice(id: "dev-1", at: now + 5)
            #expect(try await store.device(id: "dev-1")?.lastUsed == now + 5)
            try await store.deleteDevice(forUser: "alice")
            #expect(try await store.device(id: "dev-1") == nil)
            await #expect(throws: StoreError(.notEnrolled, "")) { try await store.deleteDevice(forUser: "alice") }
            let second = device("dev-2")
            try await store.addDevice(second)
            #expect(try await store.device(forUser: "alice")?.webAuthn == nil)
            // A deleted user takes the device along.
            try await store.deleteUser("alice")
            #expect(try await store.device(id: "dev-2") == nil)
        }
    }

    /// Two nodes starting together on an empty database (migrations run once) make one signing key and one shared
    /// key between them.
    @Test(arguments: Backend.allCases)
    func keysAreMadeOnceForNodesStartingTogether(_ backend: Backend) async throws {
        try await TestDatabase.with(backend, empty: true) { database in
            let nodes = [try database.store(), try database.store()]
            let keys = try await withThrowingTaskGroup(of: (Data, [UInt8]).self) { group in
                for node in nodes + nodes {
                    group.addTask { (try await node.serverSigningKey().rawRepresentation, try await node.sharedKey(named: "join")) }
                }
                return try await group.reduce(into: [(Data, [UInt8])]()) { $0.append($1) }
            }
            #expect(Set(keys.map(\.0)).count == 1)
            #expect(Set(keys.map(\.1)).count == 1)
            #expect(keys[0].1.count == 32)
            #expect(try await nodes[0].sharedKey(named: "other") != keys[0].1)
        }
    }

    @Test(arguments: Backend.allCases)
    func pushCanBeTurnedOffAndOn(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            #expect(try await store.isPushEnabled())
            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.addDevice(device())
            try await store.addUser("bob", passwordHash: nil, at: now)
            try await store.enrollTOTP(.generate(), for: "bob", at: now)
            try await store.addDevice(device("dev-2", user: "bob"))
            try await store.setPushEnabled(false)
            #expect(try await database.store().isPushEnabled() == false)
            #expect(try await store.pushOnlyUsers() == ["alice"])
            try await store.setPushEnabled(true)
            #expect(try await store.isPushEnabled())
        }
    }

    // MARK: Events

    /// Event `i` of five: even ones RADIUS logins, the first three alice's, the last a failure, two nodes in turn.
    func event(_ i: Int) -> AuditEvent {
        let type: AuditEventType = i.isMultiple(of: 2) ? .radiusAuth : .totpAttempt
        let user = i < 3 ? "alice" : "bob"
        return AuditEvent(
            time: now + Double(i), type: type, user: user, resource: "radius:vpn", clientAddress: "10.0.0.\(i)",
            result: i == 4 ? .failure : .success, error: i == 4 ? "bad code" : nil, details: ["n": "\(i)"], node: "node-\(i % 2)")
    }

    @Test(arguments: Backend.allCases)
    func eventsFilterAndLimitAndKeepTheirNode(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.append((0..<5).map(event))
            let all = try await database.store().events()
            #expect(all.map { $0.event.details["n"] } == ["0", "1", "2", "3", "4"])
            #expect(all.map(\.event.node) == ["node-0", "node-1", "node-0", "node-1", "node-0"])
            #expect(all[0].event.time == now)
            #expect(all[4].event.error == "bad code" && all[4].event.result == .failure && all[4].event.clientAddress == "10.0.0.4")
            #expect(try await store.events(limit: 2).map { $0.event.details["n"] } == ["3", "4"])
            #expect(try await store.events(user: "alice", type: "radius_auth").map { $0.event.details["n"] } == ["0", "2"])
            #expect(try await store.events(after: all[2].id).map { $0.event.details["n"] } == ["3", "4"])
            #expect(try await store.events(user: "bob", after: all[3].id, limit: 5).map { $0.event.details["n"] } == ["4"])

            store.appendSoon([AuditEvent(time: now + 10, type: .userAdded, user: "carol", result: .success, node: "node-0")])
            store.appendSoon([AuditEvent(time: now + 11, type: .userDeleted, user: "carol", result: .success)])
            try await store.flush()
            let carol = try await database.store().events(user: "carol")
            #expect(carol.map(\.event.type) == [.userAdded, .userDeleted])
            #expect(carol.map(\.event.node) == ["node-0", nil])
        }
    }

    // MARK: Import and export

    @Test(arguments: Backend.allCases)
    func importIsAllOrNothingAndExportReadsItBack(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("existing", passwordHash: "$scrypt$e", at: now)
            let secret: [UInt8] = Array(repeating: 3, count: 20)
            func run(_ users: [ImportedUser], updating: Bool = false) async throws -> ImportSummary {
                try await importUsers(users, updating: updating, into: store)
            }
            let summary = try await run([
                ImportedUser(line: 2, name: "u1", passwordHash: "$scrypt$1", totpSecret: secret),
                ImportedUser(line: 3, name: "u2", passwordHash: nil, totpSecret: nil),
                ImportedUser(line: 4, name: "u3", passwordHash: "$scrypt$3", totpSecret: nil),
            ])
            #expect(summary == ImportSummary(added: 3, updated: 0))
            #expect(try await store.events(type: "user_import").last?.event.details["added"] == "3")

            // An existing user, after a new one in an earlier batch: the error names its line, and nothing is kept.
            let existing = await #expect(throws: StoreError(.userExists, "")) {
                try await run([
                    ImportedUser(line: 2, name: "new1", passwordHash: nil, totpSecret: nil),
                    ImportedUser(line: 3, name: "new2", passwordHash: nil, totpSecret: nil),
                    ImportedUser(line: 4, name: "existing", passwordHash: nil, totpSecret: nil),
                ])
            }
            #expect(existing?.message.contains("line 4") == true)
            let invalid = await #expect(throws: StoreError(.invalidUsername, "")) {
                try await run([
                    ImportedUser(line: 7, name: "new3", passwordHash: nil, totpSecret: nil),
                    ImportedUser(line: 8, name: "bad\nname", passwordHash: nil, totpSecret: nil),
                ])
            }
            #expect(invalid?.message.contains("line 8") == true)
            // A name twice in one file is an existing user the second time.
            await #expect(throws: StoreError(.userExists, "")) {
                try await run([
                    ImportedUser(line: 2, name: "twice", passwordHash: nil, totpSecret: nil),
                    ImportedUser(line: 3, name: "twice", passwordHash: nil, totpSecret: nil),
                ])
            }
            #expect(try await store.users().map(\.name) == ["existing", "u1", "u2", "u3"])
            #expect(try await store.events(type: "user_import").count == 1)

            // --update: new and existing users together; a new secret starts afresh.
            try await store.addUser("stepper", passwordHash: nil, at: now)
            try await store.enrollTOTP(.generate(), for: "stepper", at: now)
            #expect(try await store.recordAcceptedTOTPStep(100, for: "stepper"))
            let updated = try await run(
                [
                    ImportedUser(line: 2, name: "existing", passwordHash: "$scrypt$changed", totpSecret: nil),
                    ImportedUser(line: 3, name: "stepper", passwordHash: nil, totpSecret: secret),
                    ImportedUser(line: 4, name: "u4", passwordHash: nil, totpSecret: nil),
                ], updating: true)
            #expect(updated == ImportSummary(added: 1, updated: 2))
            #expect(try await store.credentials(for: "existing")?.passwordHash == "$scrypt$changed")
            #expect(try await store.credentials(for: "stepper")?.totp?.secret == secret)
            #expect(try await store.recordAcceptedTOTPStep(100, for: "stepper"))

            var exported: [ExportedUser] = []
            try await database.store().forEachUser(includeSecrets: true) { exported.append($0) }
            #expect(exported.map(\.name) == ["existing", "stepper", "u1", "u2", "u3", "u4"])
            let u1 = ExportedUser(name: "u1", hasPassword: true, totpEnrolled: true, hasDevice: false, totpSecret: secret)
            #expect(exported.first { $0.name == "u1" } == u1)
            var withoutSecrets: [ExportedUser] = []
            try await store.forEachUser(includeSecrets: false) { withoutSecrets.append($0) }
            #expect(withoutSecrets.allSatisfy { $0.totpSecret == nil })
            #expect(withoutSecrets.filter(\.totpEnrolled).map(\.name) == ["stepper", "u1"])
        }
    }

    /// Two users a batch, so that an import spans batches; the audit event says how many were added.
    func importUsers(_ users: [ImportedUser], updating: Bool = false, into store: any GatewayStore) async throws -> ImportSummary {
        var rest = users[...]
        return try await store.importUsers(
            updatingExisting: updating, at: now,
            nextBatch: {
                guard !rest.isEmpty else { return nil }
                defer { rest = rest.dropFirst(2) }
                return Array(rest.prefix(2))
            },
            auditEvent: { summary in
                AuditEvent(time: now, type: .userImport, user: nil, result: .success, details: ["added": "\(summary.added)"])
            })
    }

    @Test(arguments: Backend.allCases)
    func aHealthyStoreSaysNothing(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            #expect(await store.healthProblem() == nil)
        }
    }
}
