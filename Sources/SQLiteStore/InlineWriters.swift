import GRDB
import MFACore

/// Connections on which an event loop commits a small batch of the group commit itself, at the end of its turn,
/// when SQLite's write lock is free at once. At low load a login's write then needs no hand-off to the writer's
/// thread and back (two wake-ups). Never waits: these connections give up at once on a lock held elsewhere
/// (`busyMode = .immediateError`), and the batch goes to the writer's queue, which waits for it.
///
/// Like `ReadConnections`, one connection serves one thread at a time and one is opened when every open one is in
/// use, so there are never more than the threads that commit here at once (the event loops).
final class InlineWriters: Sendable {
    private let path: String
    private let configuration: Configuration
    private let idle = Locked<[DatabaseQueue]>([])
    /// The largest batch committed on a loop: more writes than this in one turn means load, and the loop has
    /// requests to read; the writer's thread commits them while it does.
    static let largestBatch = 4

    /// `configuration`: the writer's (its `prepareDatabase` sets the pragmas and the checkpoint's WAL hook).
    init(path: String, configuration: Configuration) {
        var configuration = configuration
        configuration.busyMode = .immediateError
        configuration.label = "countersign.inline-writer"
        self.path = path
        self.configuration = configuration
    }

    /// Runs `body` inside a transaction begun with `BEGIN IMMEDIATE` on this thread, and returns true; `body` ends
    /// the transaction. Returns false without running `body` when the write lock is held elsewhere (or the
    /// connection cannot be opened): the caller commits some other way.
    func inImmediateTransaction(_ body: (Database) -> Void) -> Bool {
        (try? lend { db in
            guard (try? db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()) != nil else { return false }
            body(db)
            return true
        }) ?? false
    }

    /// Lends this thread a connection outside any transaction: for a batch's commit, and for the login reads of a
    /// loop's turn (`LoginReadBatches`). SQLite keeps a connection's page cache across its own commits and drops it
    /// after anyone else's, so on the connection that committed the previous login's write the next login's read
    /// finds the tables' upper pages in memory. Giving up at once on a held lock does not touch those reads: in WAL
    /// mode a reader waits for no writer (only a recovery after a crash holds readers off).
    func lend<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(connection) } }
        return try connection.inDatabase(body)
    }
}
