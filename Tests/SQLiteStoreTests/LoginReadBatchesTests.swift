import Dispatch
import Foundation
import GRDB
import MFACore
import Testing

@testable import SQLiteStore

/// The login path's reads of one pass go to the read queue together, in one read transaction.
@Suite struct LoginReadBatchesTests {
    @Test(.timeLimit(.minutes(1))) func readsSubmittedInOneTurnRunTogetherWhenItEnds() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("store.db").path
        let writer = try DatabasePool(path: path)
        try await writer.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER NOT NULL)")
            try db.execute(sql: "INSERT INTO t VALUES (1), (2), (3)")
        }
        let turn = HeldTurn()
        let batches = LoginReadBatches(
            connections: ReadConnections(path: path, configuration: Configuration(), fallback: writer),
            queue: DispatchQueue(label: "reads"), endOfTurn: EndOfTurn { turn.hold($0) })
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
}
