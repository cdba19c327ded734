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

    /// Events go in several rows to a statement (powers of two up to `EventRows.largestInsert`): every count is
    /// split without losing, repeating or reordering an event, or mixing up its columns.
    @Test(arguments: [1, 2, 3, 7, 63, 64, 65, 200])
    func eventsInsertedSeveralToAStatementAreStoredWholeAndInOrder(count: Int) async throws {
        let events = (0..<count).map(Self.event(_:))
        try await store.append(events)
        store.appendSoon(events)
        let stored = try await store.events(limit: 1000).map(\.event)
        #expect(stored == events + events)
    }

    /// The `index`th of a run of events whose columns all differ from one event to the next.
    static func event(_ index: Int) -> AuditEvent {
        let failed = index % 5 == 0
        let details: [String: String] = ["n": "\(index)", "quote": "\"\(index)\""]
        return AuditEvent(
            time: Date(timeIntervalSince1970: Double(1_700_000_000 + index)), type: index % 2 == 0 ? .login(.radius) : .ldapBind,
            user: "u\(index)", resource: index % 3 == 0 ? nil : "vpn\(index)", clientAddress: "192.0.2.\(index % 250)",
            result: failed ? .failure : .success, error: failed ? "bad_code" : nil, details: details,
            node: index % 4 == 0 ? nil : "node\(index % 4)")
    }

    @Test(.timeLimit(.minutes(1))) func writesSubmittedInOneTurnCommitTogetherWhenItEnds() async throws {
        let turn = HeldTurn()
        let commits = Locked(0)
        let database = try DatabaseQueue()
        try await database.write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)") }
        let commit = GroupCommit(
            database: database, timing: { operation, _ in if operation == .commit { commits.withLock { $0 += 1 } } },
            endOfTurn: EndOfTurn { turn.hold($0) })
        let writes = (0..<3).map { (n: Int) in
            Task { try await commit.write(.singleStatement) { db in try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [n]) } }
        }
        // Nothing starts until the turn ends: the first write's batch waits there, the others join it.
        await turn.waitUntilHeld()
        try await waitUntil { commit.queued == 3 }
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 0)
        turn.end()
        for write in writes { try await write.value }
        #expect(commits.withLock { $0 } == 1)
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 3)
    }

    /// A table `t` and a group commit on it that counts its commits; what is queued apart waits an hour unless
    /// something takes it along.
    func countedCommit() async throws -> (GroupCommit, DatabaseQueue, Locked<Int>) {
        let commits = Locked(0)
        let database = try DatabaseQueue()
        try await database.write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)") }
        let commit = GroupCommit(
            database: database, timing: { operation, _ in if operation == .commit { commits.withLock { $0 += 1 } } },
            backgroundDelay: .seconds(3600))
        return (commit, database, commits)
    }

    func rows(_ database: DatabaseQueue) async throws -> [Int] {
        try await database.read { db in try Int.fetchAll(db, sql: "SELECT n FROM t ORDER BY rowid") }
    }

    func insert(_ n: Int) -> @Sendable (Database) throws -> Void {
        { db in try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [n]) }
    }

    /// Clearing a user's failures is queued, and a later failure must not commit before it.
    @Test func aWriteQueuedInOrderCommitsWithTheNextAwaitedOne() async throws {
        let (commit, database, commits) = try await countedCommit()
        commit.enqueue(.singleStatement, insert(1), failed: { _ in })
        try await commit.write(.singleStatement, insert(2))
        #expect(commits.withLock { $0 } == 1)
        #expect(try await rows(database) == [1, 2])
    }

    /// An audit event stays out of the next login's commit (that commit writes the login's own page), and a flush
    /// stores it.
    @Test func anEventQueuedApartLeavesTheNextLoginsCommitAlone() async throws {
        let (commit, database, commits) = try await countedCommit()
        commit.enqueue(.singleStatement, apart: true, insert(1), failed: { _ in })
        try await commit.write(.singleStatement, insert(2))
        #expect(commits.withLock { $0 } == 1)
        #expect(try await rows(database) == [2])
        try await commit.flush()
        #expect(commits.withLock { $0 } == 2)
        #expect(try await rows(database) == [2, 1])
    }

    /// Under load the events' pages are shared anyway: once enough are queued they ride with the next login's write.
    @Test func eventsQueuedApartRideOnceEnoughWait() async throws {
        let (commit, database, commits) = try await countedCommit()
        for n in 0..<GroupCommit.apartBatch { commit.enqueue(.singleStatement, apart: true, insert(n), failed: { _ in }) }
        try await commit.write(.singleStatement, insert(-1))
        #expect(commits.withLock { $0 } == 1)
        #expect(try await rows(database) == Array(0..<GroupCommit.apartBatch) + [-1])
    }

    @Test func anEventNobodyFollowsIsStoredAnyway() async throws {
        let database = try DatabaseQueue()
        try await database.write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)") }
        let commit = GroupCommit(database: database)
        commit.enqueue(.singleStatement, apart: true, { db in try db.execute(sql: "INSERT INTO t VALUES (1)") }, failed: { _ in })
        // No flush and no other write: the event starts a transaction of its own after the background delay (5 ms).
        try await waitUntil { try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") } == 1 }
    }
}

/// A loop commits a small batch itself when the write lock is free at once, and hands it to the writer otherwise.
@Suite struct InlineCommitTests {
    /// A database file with a table `t`, the writer's pool, and a group commit whose batches start when `turn` ends.
    final class Fixture: Sendable {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("countersign-inline-\(UUID())").path
        let pool: DatabasePool
        let turn = HeldTurn()
        let commit: GroupCommit
        /// The threads the jobs ran on.
        let threads = Locked<[pthread_t]>([])

        init() throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            pool = try DatabasePool(path: folder + "/store.db", configuration: configuration)
            try pool.write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)") }
            let turn = self.turn
            commit = GroupCommit(
                database: pool, endOfTurn: EndOfTurn { turn.hold($0) },
                inlineWriters: InlineWriters(path: folder + "/store.db", configuration: configuration))
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        /// `count` writes submitted in one turn, each noting its thread.
        func writes(_ count: Int) async throws -> [Task<Void, any Error>] {
            let tasks = (0..<count).map { n in
                Task {
                    try await commit.write(.singleStatement) { db in
                        self.threads.withLock { $0.append(pthread_self()) }
                        try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [n])
                    }
                }
            }
            await turn.waitUntilHeld()
            try await waitUntil { self.commit.queued == count }
            return tasks
        }

        func rows() throws -> Int { try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") ?? 0 } }
    }

    @Test(.timeLimit(.minutes(1))) func aSmallBatchCommitsOnTheThreadThatEndsTheTurn() async throws {
        let fixture = try Fixture()
        let writes = try await fixture.writes(2)
        let ending = pthread_self()
        fixture.turn.end()
        // Committed before `end` returned, on its thread.
        #expect(try fixture.rows() == 2)
        #expect(fixture.threads.withLock { $0.allSatisfy { pthread_equal($0, ending) != 0 } })
        for write in writes { try await write.value }
    }

    @Test(.timeLimit(.minutes(1))) func aBatchGoesToTheWriterWhenTheLockIsHeldElsewhere() async throws {
        let fixture = try Fixture()
        let writes = try await fixture.writes(1)
        // Another connection (an admin command, say) holds the write lock: the loop must not wait for it.
        let other = try DatabaseQueue(path: fixture.folder + "/store.db")
        let (locked, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        DispatchQueue.global().async {
            try? other.inTransaction(.immediate) { _ in
                locked.signal()
                release.wait()
                return .commit
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                locked.wait()
                continuation.resume()
            }
        }
        let ending = pthread_self()
        fixture.turn.end()
        #expect(try fixture.rows() == 0)
        release.signal()
        for write in writes { try await write.value }
        #expect(try fixture.rows() == 1)
        #expect(fixture.threads.withLock { $0.allSatisfy { pthread_equal($0, ending) == 0 } })
    }

    @Test(.timeLimit(.minutes(1))) func aLargerBatchGoesToTheWriter() async throws {
        let fixture = try Fixture()
        let writes = try await fixture.writes(InlineWriters.largestBatch + 1)
        let ending = pthread_self()
        fixture.turn.end()
        for write in writes { try await write.value }
        #expect(try fixture.rows() == InlineWriters.largestBatch + 1)
        #expect(fixture.threads.withLock { $0.allSatisfy { pthread_equal($0, ending) == 0 } })
    }
}

/// An end of turn that holds what is queued after it until the test ends the turn.
final class HeldTurn: Sendable {
    private let held = Locked<[@Sendable () -> Void]>([])
    private let arrived = AsyncStream<Void>.makeStream()

    func hold(_ work: @escaping @Sendable () -> Void) -> Bool {
        held.withLock { $0.append(work) }
        arrived.continuation.yield()
        return true
    }

    func waitUntilHeld() async {
        var iterator = arrived.stream.makeAsyncIterator()
        _ = await iterator.next()
    }

    func end() {
        for work in held.withLock({ held in defer { held = [] }; return held }) { work() }
    }
}

/// The writer's commits never run a checkpoint; the background connection does.
@Suite struct BackgroundCheckpointTests {
    @Test func aLongWALIsCheckpointedIntoTheDatabaseFile() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("store.db").path
        let store = try SQLiteStore.open(
            path: path, keyPath: folder.appendingPathComponent("store.key").path, environment: [:], checkpointsInBackground: true)
        let sizeBefore = try fileSize(path)
        // Twice the checkpoint's threshold in pages of events (2 KiB of details each, 50 pages a batch).
        let batches = 2 * Int(BackgroundCheckpoint.threshold) / 50
        for batch in 0..<batches {
            let events = (0..<100).map { index in
                AuditEvent(
                    time: Date(), type: .login(.radius), user: "u\(batch)-\(index)", result: .success,
                    details: ["padding": String(repeating: "x", count: 2048)])
            }
            try await store.append(events)
        }
        // Only a checkpoint moves pages from the WAL into the database file.
        try await waitUntil { try fileSize(path) > sizeBefore + Int(BackgroundCheckpoint.threshold) * 4096 }
        #expect(try await store.events(limit: 100 * batches + 1).count == 100 * batches)
        // Run by the background connection: the writer's own automatic checkpoint is off.
        #expect(try #require(store.checkpoint).completed.withLock { $0 } >= 1)
    }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
