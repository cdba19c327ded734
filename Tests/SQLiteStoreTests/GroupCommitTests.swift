import Foundation
import GRDB
import MFACore
import Testing

@testable import SQLiteStore

/// The login path's writes go through one group commit; these check that grouping changes no answer.
@Suite struct GroupCommitTests {
    let store: SQLiteStore

    init() throws {
        store = try SQLiteStore.inMemory()
    }

    @Test func concurrentStepsAcceptEachCodeOnceAcrossGroups() async throws {
        let users = (0..<50).map { "user\($0)" }
        for user in users { try await store.addUser(user, passwordHash: nil) }
        // Every user's step 7 is sent four times at once, and step 6 after it: one 7 wins per user, 6 never.
        let accepted = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for user in users {
                for _ in 0..<4 { group.addTask { (user, try await store.recordAcceptedTOTPStep(7, for: user)) } }
            }
            var accepted: [String: Int] = [:]
            for try await (user, ok) in group where ok { accepted[user, default: 0] += 1 }
            return accepted
        }
        #expect(accepted.count == users.count)
        #expect(accepted.values.allSatisfy { $0 == 1 })
        for user in users { #expect(try await store.recordAcceptedTOTPStep(6, for: user) == false) }
    }

    @Test func aFailingWriteLeavesTheOthersInItsGroup() async throws {
        let commit = store.groupCommit
        try await store.addUser("alice", passwordHash: nil)
        let failing = Task {
            try await commit.write { db in
                try db.execute(sql: "INSERT INTO totp_used_steps (user, step) VALUES ('alice', 100)")
                throw StoreError(.noSuchUser, "on purpose")
            }
        }
        let stored = Task { try await store.recordAcceptedTOTPStep(5, for: "alice") }
        await #expect(throws: StoreError(.noSuchUser, "")) { try await failing.value }
        #expect(try await stored.value)
        // The failed write's UPDATE was rolled back with its savepoint; the other one stayed.
        #expect(try await store.recordAcceptedTOTPStep(5, for: "alice") == false)
        #expect(try await store.recordAcceptedTOTPStep(6, for: "alice"))
    }

    @Test func aFailingSingleStatementWriteLeavesNothingAndTheOthersInItsGroup() async throws {
        let commit = store.groupCommit
        try await store.addUser("alice", passwordHash: nil)
        // No savepoint: SQLite undoes the failing statement alone (NOT NULL), and the transaction goes on.
        let failing = Task {
            try await commit.write(.singleStatement) { db in
                try db.execute(sql: "INSERT INTO totp_used_steps (user, step) VALUES ('alice', NULL)")
            }
        }
        let stored = Task { try await store.recordAcceptedTOTPStep(5, for: "alice") }
        await #expect(throws: DatabaseError.self) { try await failing.value }
        #expect(try await stored.value)
        #expect(try await store.recordAcceptedTOTPStep(5, for: "alice") == false)
        let rows = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM totp_used_steps") }
        #expect(rows == 1)
    }

    @Test func queuedEventsAreReadAfterAFlushAndKeepTheirOrder() async throws {
        let events = (0..<300).map { index in
            AuditEvent(time: Date(timeIntervalSince1970: Double(index)), type: .login(.radius), user: "u\(index)", result: .success)
        }
        for event in events { store.appendSoon([event]) }
        // events() flushes first, so it sees every event queued before it, in the order queued.
        let stored = try await store.events(limit: 1000)
        #expect(stored.map(\.event.user) == events.map(\.user))
    }
}
