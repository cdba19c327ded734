import Foundation
import MFACore
import Testing

@testable import PostgresStore

/// What a login reads is kept in memory after the first read (CredentialsCache), and every change another instance
/// makes, as the admin CLI or another node would, reaches the next read: SQLite's at once (the change log is read
/// before each lookup), PostgreSQL's once its notification has arrived.
extension StoreContractTests {
    /// Makes `change` (through another instance), then checks that `store`'s next read of `user` sees it: SQLite's at
    /// once; PostgreSQL's once `store` has heard the change's notification, which reaches its LISTEN connection a
    /// moment after the commit.
    func nextRead(
        _ store: any GatewayStore, _ user: String, after change: () async throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation, _ holds: (UserCredentials?) -> Bool
    ) async throws {
        if let heard = (store as? PostgresStore)?.heardCredentialChanges {
            let mark = heard.mark()
            try await change()
            await heard.waitUntilHeard(user, after: mark)
        } else {
            try await change()
        }
        let read = try await store.credentials(for: user)
        #expect(holds(read), "the change did not reach the next read", sourceLocation: sourceLocation)
    }

    @Test(.timeLimit(.minutes(1)), arguments: Backend.allCases)
    func aChangeMadeByAnotherInstanceReachesTheNextLogin(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let (gateway, cli) = (try database.store(), try database.store())
            let (first, second) = (TOTPEnrollment.generate(), TOTPEnrollment.generate())
            try await cli.addUser("alice", passwordHash: "hash-1", at: now)
            try await cli.enrollTOTP(first, for: "alice", at: now)
            try await cli.addDevice(
                EnrolledDevice(id: "dev-1", username: "alice", publicKey: "key", name: "phone", platform: "ios", enrolledAt: now))
            #expect(try await gateway.credentials(for: "alice")?.totp?.secret == first.secret)

            // Cached: a device's last use is no login's business and announces nothing, so the gateway keeps the
            // value it read while a fresh instance reads the new one. (PostgreSQL caches once it hears changes: its
            // LISTEN, which the first read started, is answered a moment later.)
            await (gateway as? PostgresStore)?.heardCredentialChanges.waitUntilListening()
            let read = try await gateway.credentials(for: "alice")?.device?.lastUsed
            let touched = now + 1
            try await cli.touchDevice(id: "dev-1", at: touched)
            #expect(try await gateway.credentials(for: "alice")?.device?.lastUsed == read)
            #expect(try await database.store().credentials(for: "alice")?.device?.lastUsed == touched)

            try await nextRead(gateway, "alice", after: { try await cli.deleteTOTP(for: "alice") }) { $0?.totp == nil }
            try await nextRead(gateway, "alice", after: { try await cli.enrollTOTP(second, for: "alice", at: now) }) {
                $0?.totp?.secret == second.secret
            }
            try await nextRead(gateway, "alice", after: { try await cli.setPasswordHash("hash-2", for: "alice") }) {
                $0?.passwordHash == "hash-2"
            }
            try await nextRead(gateway, "alice", after: {
                let locked = try await cli.recordFailure(for: "alice", now: Date(), policy: LockoutPolicy(maxFailures: 1))
                #expect(locked)
            }) { $0?.lockedUntil != nil }
            try await nextRead(gateway, "alice", after: { try await cli.unlock("alice") }) { $0?.lockedUntil == nil }
            try await nextRead(gateway, "alice", after: { try await cli.deleteDevice(forUser: "alice") }) {
                $0 != nil && $0?.device == nil
            }

            // The used step is never the cache's: a code accepted through one instance is refused through the other.
            #expect(try await cli.recordAcceptedTOTPStep(1_000, for: "alice"))
            #expect(try await gateway.recordAcceptedTOTPStep(1_000, for: "alice") == false)

            try await nextRead(gateway, "alice", after: { try await cli.deleteUser("alice") }) { $0 == nil }
        }
    }

    /// This instance's own lockout writes reach its next read at once, on either backend.
    @Test(arguments: Backend.allCases)
    func aFailureCountedHereIsReadAtOnce(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("bob", passwordHash: "hash", at: now)
            #expect(try await store.credentials(for: "bob")?.failedAttempts == 0)
            #expect(try await store.recordFailure(for: "bob", now: Date(), policy: LockoutPolicy(maxFailures: 3)) == false)
            #expect(try await store.credentials(for: "bob")?.failedAttempts == 1)
            try await store.clearFailures(for: "bob")
            try await store.flush()  // SQLite commits the clearing with the next group, off the reply path
            #expect(try await store.credentials(for: "bob")?.failedAttempts == 0)
        }
    }
}
