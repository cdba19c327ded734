import Foundation
import GRDB
import MFACore
import Testing

@testable import SQLiteStore

/// The last accepted TOTP step lives in totp_used_steps; these check it keeps every promise the users column kept.
@Suite struct UsedStepsTests {
    let store: SQLiteStore

    init() async throws {
        store = try SQLiteStore.inMemory()
        try await store.addUser("alice", passwordHash: nil)
        try await store.enrollTOTP(.generate(), for: "alice")
    }

    @Test func aStepIsAcceptedOnceAndNeverAnEarlierOne() async throws {
        #expect(try await store.recordAcceptedTOTPStep(10, for: "alice"))
        #expect(try await store.recordAcceptedTOTPStep(10, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(9, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(11, for: "alice"))
        #expect(try await store.recordAcceptedTOTPStep(3, for: "nobody") == false)
    }

    @Test func aNewSecretStartsAfresh() async throws {
        #expect(try await store.recordAcceptedTOTPStep(10, for: "alice"))
        try await store.deleteTOTP(for: "alice")
        try await store.enrollTOTP(.generate(), for: "alice")
        #expect(try await store.recordAcceptedTOTPStep(10, for: "alice"))
    }

    @Test func aDeletedUserTakesItsRowAlong() async throws {
        #expect(try await store.recordAcceptedTOTPStep(10, for: "alice"))
        try await store.deleteUser("alice")
        let rows = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM totp_used_steps") }
        #expect(rows == 0)
    }

    @Test func theRecordFromBeforeTheTableStillCounts() async throws {
        try await store.database.write { db in try db.execute(sql: "UPDATE users SET totp_last_step = 50 WHERE name = 'alice'") }
        #expect(try await store.recordAcceptedTOTPStep(50, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(51, for: "alice"))
    }

    @Test func pruningDropsOnlyStepsFarBehind() async throws {
        try await store.addUser("bob", passwordHash: nil)
        try await store.enrollTOTP(.generate(), for: "bob")
        #expect(try await store.recordAcceptedTOTPStep(100, for: "bob"))
        // Enough accepted logins of alice to trigger a prune, her newest step far ahead of bob's.
        for step in 0..<Int64(SQLiteStore.pruneEvery) {
            #expect(try await store.recordAcceptedTOTPStep(1000 + step, for: "alice"))
        }
        try await store.flush()
        let users = try await store.database.read { db in try String.fetchAll(db, sql: "SELECT user FROM totp_used_steps") }
        #expect(users == ["alice"])
    }
}
