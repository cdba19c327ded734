import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import MFACore
import Testing

@testable import SQLiteStore

/// The login path's reads of one pass run together, in one read transaction: a few on the thread that ends the turn,
/// more on the read queue.
@Suite struct LoginReadBatchesTests {
    /// A database file with a table `t` holding 1 to 6, and batches whose turns end when the test says.
    final class Fixture: Sendable {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reads-\(UUID())").path
        let writer: DatabasePool
        let turn = HeldTurn()
        let inlineWriters: InlineWriters
        let batches: LoginReadBatches

        /// `blocksRead`: what the batches are told this thread has read from the disk.
        init(slowInlineRead: Duration = .seconds(60), blocksRead: @escaping @Sendable () -> Int = { 0 }) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            writer = try DatabasePool(path: folder + "/store.db")
            try writer.write { db in
                try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)")
                try db.execute(sql: "INSERT INTO t VALUES (1), (2), (3), (4), (5), (6)")
            }
            let turn = self.turn
            inlineWriters = InlineWriters(path: folder + "/store.db", configuration: Configuration())
            batches = LoginReadBatches(
                connections: ReadConnections(path: folder + "/store.db", configuration: Configuration(), fallback: writer),
                inlineWriters: inlineWriters, queue: DispatchQueue(label: "reads"), endOfTurn: EndOfTurn { turn.hold($0) }, slowInlineRead: slowInlineRead,
                blocksRead: blocksRead)
        }

        deinit { try? FileManager.default.removeItem(atPath: folder) }

        /// Reads of 1 to `count` submitted in one turn; each returns its value, the thread it ran on and its
        /// connection's label.
        func reads(_ count: Int) async throws -> [Task<(Int?, pthread_t, String?), any Error>] {
            let tasks = (1...count).map { n in
                Task {
                    try await batches.read { db in
                        (try Int.fetchOne(db, sql: "SELECT n FROM t WHERE n = ?", arguments: [n]), pthread_self(), db.configuration.label)
                    }
                }
            }
            await turn.waitUntilHeld()
            try await waitUntil { self.batches.pending == count }
            return tasks
        }

        /// Ends the turn here and names this thread (an async test may move between threads at each `await`).
        func endTurn() -> pthread_t {
            turn.end()
            return pthread_self()
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFewReadsRunOnTheThreadThatEndsTheTurn() async throws {
        let fixture = try Fixture()
        let reads = try await fixture.reads(LoginReadBatches.largestInlineBatch)
        let ending = fixture.endTurn()
        for (index, read) in reads.enumerated() {
            let (value, thread, connection) = try await read.value
            #expect(value == index + 1)
            #expect(pthread_equal(thread, ending) != 0)
            #expect(connection == "countersign.inline-writer")
        }
    }

    @Test(.timeLimit(.minutes(1))) func moreReadsGoToTheQueue() async throws {
        let fixture = try Fixture()
        let reads = try await fixture.reads(LoginReadBatches.largestInlineBatch + 1)
        let ending = fixture.endTurn()
        for (index, read) in reads.enumerated() {
            let (value, thread, connection) = try await read.value
            #expect(value == index + 1)
            #expect(pthread_equal(thread, ending) == 0)
            #expect(connection == "countersign.login-read")
        }
    }

    /// A batch slower than the bound (here every batch) that read from the disk was not served from memory: the next
    /// ones leave the loop.
    @Test(.timeLimit(.minutes(1))) func afterASlowReadFromTheDiskTheNextBatchesGoToTheQueue() async throws {
        let blocks = Locked(0)
        let fixture = try Fixture(slowInlineRead: .zero) { blocks.withLock { $0 += 1; return $0 } }
        let first = try await fixture.reads(1)
        let firstEnding = fixture.endTurn()
        #expect(try await pthread_equal(first[0].value.1, firstEnding) != 0)
        let second = try await fixture.reads(2)
        let secondEnding = fixture.endTurn()
        for read in second {
            let (value, thread, _) = try await read.value
            #expect(value != nil)
            #expect(pthread_equal(thread, secondEnding) == 0)
        }
    }

    /// Slow without reading from the disk (the thread was preempted, say): the loop goes on reading.
    @Test(.timeLimit(.minutes(1))) func aSlowReadFromMemoryKeepsTheNextBatchesOnTheLoop() async throws {
        let fixture = try Fixture(slowInlineRead: .zero)
        for _ in 0..<2 {
            let reads = try await fixture.reads(2)
            let ending = fixture.endTurn()
            for read in reads { #expect(try await pthread_equal(read.value.1, ending) != 0) }
        }
    }

    @Test(.timeLimit(.minutes(1))) func readsSubmittedInOneTurnRunTogetherWhenItEnds() async throws {
        let fixture = try Fixture()
        let (batches, turn) = (fixture.batches, fixture.turn)
        let reads = (1...3).map { (n: Int) in
            Task {
                try await batches.read { db in
                    // The same transaction for all three: SQLite names it as one open read.
                    (try Int.fetchOne(db, sql: "SELECT n FROM t WHERE n = ?", arguments: [n]), db.isInsideTransaction)
                }
            }
        }
        let failing = Task { try await batches.read { db in try Int.fetchOne(db, sql: "SELECT n FROM missing") } }
        await turn.waitUntilHeld()
        // Nothing is read until the turn ends: the first read's batch waits there, the others join it.
        try await waitUntil { batches.pending == 4 }
        turn.end()
        for (index, read) in reads.enumerated() {
            let (value, inTransaction) = try await read.value
            #expect(value == index + 1)
            #expect(inTransaction)
        }
        // A read that fails fails alone.
        await #expect(throws: DatabaseError.self) { try await failing.value }
    }

    /// A read on the loop after the loop's own commit finds the table's pages in memory; after a commit on another
    /// connection it fetches them again.
    @Test(.timeLimit(.minutes(1))) func aReadAfterTheLoopsOwnCommitFetchesNoPages() async throws {
        let fixture = try Fixture()
        func pagesFetched() async throws -> Int32 {
            let read = Task {
                try await fixture.batches.read { db in
                    var misses: Int32 = 0
                    var highest: Int32 = 0
                    sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &misses, &highest, 1)
                    _ = try Int.fetchOne(db, sql: "SELECT sum(n) FROM t")
                    sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &misses, &highest, 0)
                    return misses
                }
            }
            await fixture.turn.waitUntilHeld()
            try await waitUntil { fixture.batches.pending == 1 }
            _ = fixture.endTurn()
            return try await read.value
        }
        func commitInline() {
            let committed = fixture.inlineWriters.inImmediateTransaction { db in
                try? db.execute(sql: "INSERT INTO t VALUES (7)")
                try? db.execute(sql: "COMMIT")
            }
            #expect(committed)
        }
        commitInline()
        #expect(try await pagesFetched() == 0)
        try await fixture.writer.write { db in try db.execute(sql: "INSERT INTO t VALUES (8)") }
        #expect(try await pagesFetched() > 0)
    }
}
