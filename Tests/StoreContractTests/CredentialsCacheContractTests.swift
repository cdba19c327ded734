import Foundation
import MFACore
import Testing

/// What a login reads is kept in memory after the first read (CredentialsCache), and every change another instance
/// makes, as the admin CLI or another node would, reaches the next read: SQLite's at once (the change log is read
/// before each lookup), PostgreSQL's once its notification has arrived.
extension StoreContractTests {
    /// Reads `user` through `store` until `holds` (SQLite: the first read must), at most 5 s.
    func nextRead(
        _ store: any GatewayStore, _ user: String, _ backend: Backend,
        sourceLocation: SourceLocation = #_sourceLocation, _ holds: (UserCredentials?) -> Bool
    ) async throws {
        // PostgreSQL's NOTIFY reaches the other node's LISTEN connection a moment after the commit; nothing in the
        // store says when, so its reads are retried for a while.
        let attempts = backend == .sqlite ? 1 : 500
        for attempt in 1...attempts {
            if holds(try await store.credentials(for: user)) { return }
            if attempt < attempts { try await Task.sleep(for: .milliseconds(10)) }
        }
        Issue.record("the change never reached \(backend)'s next read", sourceLocation: sourceLocation)
    }

    @Test(arguments: Backend.allCases)
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
            // value it read while a fresh instance reads the new one. (PostgreSQL caches once it hears changes:
            // its LISTEN is answered a moment after the first read.)
            var touched = now
            for attempt in 1...(backend == .sqlite ? 1 : 500) {
                let read = try await gateway.credentials(for: "alice")?.device?.lastUsed
                touched = now + Double(attempt)
                try await cli.touchDevice(id: "dev-1", at: touched)
                if try await gateway.credentials(for: "alice")?.device?.lastUsed == read { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await gateway.credentials(for: "alice")?.device?.lastUsed != touched)
            #expect(try await database.store().credentials(for: "alice")?.device?.lastUsed == touched)

            try await cli.deleteTOTP(for: "alice")
            try await nextRead(gateway, "alice", backend) { $0?.totp == nil }
            try await cli.enrollTOTP(second, for: "alice", at: now)
            try await nextRead(gateway, "alice", backend) { $0?.totp?.secret == second.secret }
            try await cli.setPasswordHash("hash-2", for: "alice")
            try await nextRead(gateway, "alice", backend) { $0?.passwordHash == "hash-2" }
            #expect(try await cli.recordFailure(for: "alice", now: Date(), policy: LockoutPolicy(maxFailures: 1)))
            try await nextRead(gateway, "alice", backend) { $0?.lockedUntil != nil }
            try await cli.unlock("alice")
            try await nextRead(gateway, "alice", backend) { $0?.lockedUntil == nil }
            try await cli.deleteDevice(forUser: "alice")
            try await nextRead(gateway, "alice", backend) { $0 != nil && $0?.device == nil }

            // The used step is never the cache's: a code accepted through one instance is refused through the other.
            #expect(try await cli.recordAcceptedTOTPStep(1_000, for: "alice"))
            #expect(try await gateway.recordAcceptedTOTPStep(1_000, for: "alice") == false)

            try await cli.deleteUser("alice")
            try await nextRead(gateway, "alice", backend) { $0 == nil }
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
