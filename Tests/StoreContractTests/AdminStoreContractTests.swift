import Crypto
import DeviceProtocol
import Foundation
import MFACore
import Testing

/// The admin console's accounts and the user list's paged search, on each backend.
@Suite struct AdminStoreContractTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test(arguments: Backend.allCases)
    func adminsAreAddedListedAndDeleted(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addAdmin("root", passwordHash: "$scrypt$x", at: now)
            try await store.addAdmin("Ops", passwordHash: "$scrypt$y", at: now)
            await #expect(throws: StoreError(.adminExists, "")) { try await store.addAdmin("root", passwordHash: "$scrypt$z", at: now) }
            await #expect(throws: StoreError(.invalidUsername, "")) { try await store.addAdmin("", passwordHash: "$scrypt$z", at: now) }
            #expect(try await database.store().admins() == [
                AdminSummary(name: "Ops", createdAt: now, totpConfirmed: false, lockedUntil: nil),
                AdminSummary(name: "root", createdAt: now, totpConfirmed: false, lockedUntil: nil),
            ])
            let root = try #require(try await store.adminAccount("root"))
            #expect(root.passwordHash == "$scrypt$x" && root.totp == nil && !root.totpConfirmed && root.lastUsedStep == nil)
            // An admin is no user, and a user no admin.
            #expect(try await store.user("root") == nil)
            try await store.addUser("alice", passwordHash: nil, at: now)
            #expect(try await store.adminAccount("alice") == nil)
            try await store.deleteAdmin("root")
            await #expect(throws: StoreError(.noSuchAdmin, "")) { try await store.deleteAdmin("root") }
            #expect(try await store.adminAccount("root") == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func anAdminsTOTPIsSealedConfirmedByAFirstCodeAndNoCodeWorksTwice(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addAdmin("root", passwordHash: "$scrypt$x", at: now)
            #expect(try await store.recordAdminTOTPStep(10, for: "root") == false)
            let first = TOTPEnrollment.generate()
            try await store.setUnconfirmedAdminTOTP(first, for: "root")
            // Not confirmed yet: a new setup may replace it.
            let second = TOTPEnrollment(secret: Array(repeating: 9, count: 20), parameters: TOTPParameters(digits: 8))
            try await store.setUnconfirmedAdminTOTP(second, for: "root")
            let stored = try #require(try await database.store().adminAccount("root"))
            #expect(stored.totp?.secret == second.secret && stored.totp?.parameters == second.parameters && !stored.totpConfirmed)
            #expect(try await store.recordAdminTOTPStep(100, for: "root"))
            #expect(try await store.recordAdminTOTPStep(100, for: "root") == false)
            #expect(try await store.recordAdminTOTPStep(99, for: "root") == false)
            #expect(try await store.recordAdminTOTPStep(101, for: "root"))
            let confirmed = try #require(try await store.adminAccount("root"))
            #expect(confirmed.totpConfirmed && confirmed.lastUsedStep == 101)
            #expect(try await store.admins().first?.totpConfirmed == true)
            // Confirmed: a password alone never replaces it.
            await #expect(throws: StoreError(.alreadyEnrolled, "")) { try await store.setUnconfirmedAdminTOTP(.generate(), for: "root") }
            await #expect(throws: StoreError(.noSuchAdmin, "")) { try await store.setUnconfirmedAdminTOTP(.generate(), for: "nobody") }
        }
    }

    /// The same code at the same moment on two nodes: accepted once.
    @Test(arguments: Backend.allCases)
    func anAdminCodeIsAcceptedOnceAcrossNodes(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addAdmin("root", passwordHash: "$scrypt$x", at: now)
            try await nodes[0].setUnconfirmedAdminTOTP(.generate(), for: "root")
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 { group.addTask { try await nodes[index % 2].recordAdminTOTPStep(500, for: "root") } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func adminFailuresLockWithTheUsersRule(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addAdmin("root", passwordHash: "$scrypt$x", at: now)
            try await store.addUser("root", passwordHash: nil, at: now)
            let policy = LockoutPolicy(maxFailures: 3, window: 900, duration: 600)
            #expect(try await store.recordAdminFailure(for: "root", now: now, policy: policy) == false)
            #expect(try await store.recordAdminFailure(for: "root", now: now + 1, policy: policy) == false)
            #expect(try await store.recordAdminFailure(for: "root", now: now + 2, policy: policy))
            #expect(try await store.adminAccount("root")?.lockedUntil == now + 602)
            // The user of the same name is another account.
            #expect(try await store.credentials(for: "root")?.lockedUntil == nil)
            try await store.clearAdminFailures(for: "root")
            #expect(try await store.adminAccount("root")?.lockedUntil == nil)
            #expect(try await store.recordAdminFailure(for: "nobody", now: now, policy: policy) == false)
        }
    }

    @Test(arguments: Backend.allCases)
    func usersArePagedAndSearchedByName(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            for name in ["alice", "Alina", "bob", "carol", "<script>x</script>", "jürgen", "MALICE"] {
                try await store.addUser(name, passwordHash: nil, at: now)
            }
            let first = try await store.users(matching: nil, after: nil, limit: 3).map(\.name)
            #expect(first == ["<script>x</script>", "Alina", "MALICE"])
            let second = try await store.users(matching: nil, after: first.last, limit: 3).map(\.name)
            #expect(second == ["alice", "bob", "carol"])
            #expect(try await store.users(matching: nil, after: "carol", limit: 3).map(\.name) == ["jürgen"])
            // A substring, ASCII letters in either case.
            #expect(try await store.users(matching: "ALI", after: nil, limit: 10).map(\.name) == ["Alina", "MALICE", "alice"])
            #expect(try await store.users(matching: "ali", after: "Alina", limit: 1).map(\.name) == ["MALICE"])
            #expect(try await store.users(matching: "<script", after: nil, limit: 10).map(\.name) == ["<script>x</script>"])
            #expect(try await store.users(matching: "ürg", after: nil, limit: 10).map(\.name) == ["jürgen"])
            #expect(try await store.users(matching: "%", after: nil, limit: 10).isEmpty)
            #expect(try await store.users(matching: "", after: nil, limit: 10).count == 7)
        }
    }

    @Test(arguments: Backend.allCases)
    func userCountsSayWhoIsEnrolledAndLocked(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            #expect(try await store.userCounts(now: now) == UserCounts(users: 0, enrolled: 0, locked: 0))
            for name in ["alice", "bob", "carol", "dave"] { try await store.addUser(name, passwordHash: nil, at: now) }
            try await store.enrollTOTP(.generate(), for: "alice", at: now)
            try await store.enrollTOTP(.generate(), for: "bob", at: now)
            try await store.addDevice(
                EnrolledDevice(
                    id: "dev-1", username: "bob", publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey), name: "phone",
                    platform: "linux", enrolledAt: now))
            try await store.addDevice(
                EnrolledDevice(
                    id: "dev-2", username: "carol", publicKey: DeviceCrypto.encode(P256.Signing.PrivateKey().publicKey), name: "phone",
                    platform: "linux", enrolledAt: now))
            let policy = LockoutPolicy(maxFailures: 1, window: 900, duration: 600)
            #expect(try await store.recordFailure(for: "dave", now: now, policy: policy))
            #expect(try await store.userCounts(now: now) == UserCounts(users: 4, enrolled: 3, locked: 1))
            // The lock has run out.
            #expect(try await store.userCounts(now: now + 601) == UserCounts(users: 4, enrolled: 3, locked: 0))
        }
    }
}
