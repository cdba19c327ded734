import Dispatch
import Foundation
import GRDB
import MFACore

/// Read-only connections for the login path's reads, run on the calling thread.
///
/// Each connection serves one thread at a time; one is opened when every open one is in use, so there are never
/// more than threads reading at once, and no read waits for a connection. WAL lets them read while the writer
/// commits. SQLite drops a connection's page cache whenever another connection has committed, so every read
/// fetches its pages again from the operating system's cache, or from disk.
final class ReadConnections: Sendable {
    private let path: String?
    private let configuration: Configuration
    private let fallback: any DatabaseReader
    private let idle = Locked<[DatabaseQueue]>([])

    /// `path` nil (an in-memory store): reads go to `fallback`, the store's own connection.
    init(path: String?, configuration: Configuration, fallback: any DatabaseReader) {
        var configuration = configuration
        configuration.readonly = true
        configuration.label = "countersign.login-read"
        self.path = path
        self.configuration = configuration
        self.fallback = fallback
    }

    /// `body` runs one statement: SQLite reads it from one snapshot, so no transaction is opened around it (GRDB's
    /// `read` adds BEGIN, COMMIT and two pragmas, more than the lookup itself).
    func readStatement<T>(_ body: (Database) throws -> T) throws -> T {
        guard let path else { return try fallback.read(body) }
        let connection = try idle.withLock { $0.popLast() } ?? DatabaseQueue(path: path, configuration: configuration)
        defer { idle.withLock { $0.append(connection) } }
        return try connection.inDatabase(body)
    }

    /// Several reads on one connection in one read transaction: the WAL index's locks are taken once, and pages the
    /// reads share are fetched once. Each read gets the connection, or the error that kept it from being opened.
    func readTogether(_ reads: [@Sendable (Result<Database, any Error>) -> Void]) {
        Self.readTogether(reads, inOneTransaction: path != nil && reads.count > 1) { try readStatement($0) }
    }

    /// `readTogether` on the connection `lend` lends.
    static func readTogether(
        _ reads: [@Sendable (Result<Database, any Error>) -> Void], inOneTransaction together: Bool,
        on lend: ((Database) throws -> Void) throws -> Void
    ) {
        var delivered = false
        do {
            try lend { db in
                if together { try db.cachedStatement(sql: "BEGIN DEFERRED").execute() }
                defer { if together, db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") } }
                delivered = true
                for read in reads { read(.success(db)) }
                if together { try db.cachedStatement(sql: "COMMIT").execute() }
            }
        } catch {
            if !delivered { for read in reads { read(.failure(error)) } }
        }
    }
}

/// The login path's reads submitted during one event loop's pass, run together once the pass ends (`EndOfTurn`): one
/// read transaction for the logins of a pass instead of one each. A few reads (low load) run on the loop's own
/// thread, with no hand-off to the read queue and back (two wake-ups), as long as such reads come from memory: one
/// that takes longer and read from the disk sends the next batches to the queue, so that a slow disk does not hold
/// the loop's other requests (a read that was slow only because the thread was preempted does not count). More reads
/// go to the queue, and the loop reads requests meanwhile. Reads from elsewhere go to the queue at once, each on its
/// own. On a loop they use the connection the loop commits its own small batches on (`InlineWriters.lend`), whose
/// page cache those commits leave in place.
final class LoginReadBatches: Sendable {
    private struct Pending {
        var reads: [@Sendable (Result<Database, any Error>) -> Void] = []
        var scheduled = false
        /// Batches still to send to the queue after a slow read on a loop.
        var queuedAfterSlowRead = 0
    }

    /// The most reads of one pass run on the loop (as `InlineWriters.largestBatch` for the commits).
    static let largestInlineBatch = 4
    /// After a slow batch, this many go to the queue before the loop tries again.
    static let queuedAfterSlowRead = 1000

    private let connections: ReadConnections
    private let inlineWriters: InlineWriters?
    private let queue: DispatchQueue
    private let endOfTurn: EndOfTurn?
    /// A batch this slow on a loop, that read blocks from the disk meanwhile, was not served from memory.
    private let slowInlineRead: Duration
    /// Blocks this thread has read from devices so far (`getrusage`'s `ru_inblock`; pages from the operating system's
    /// cache are not counted).
    private let blocksRead: @Sendable () -> Int
    private let pendingReads = Locked(Pending())

    init(
        connections: ReadConnections, inlineWriters: InlineWriters? = nil, queue: DispatchQueue, endOfTurn: EndOfTurn?,
        slowInlineRead: Duration = .microseconds(500),
        blocksRead: @escaping @Sendable () -> Int = LoginReadBatches.blocksReadByThisThread
    ) {
        self.connections = connections
        self.inlineWriters = inlineWriters
        self.queue = queue
        self.endOfTurn = endOfTurn
        self.slowInlineRead = slowInlineRead
        self.blocksRead = blocksRead
    }

    @Sendable static func blocksReadByThisThread() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD (Linux): glibc names it only for _GNU_SOURCE, which Swift's import does not set.
        guard getrusage(__rusage_who_t(1), &usage) == 0 else { return 0 }
        return usage.ru_inblock
    }

    /// Reads waiting for their batch (for tests).
    var pending: Int { pendingReads.withLock { $0.reads.count } }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withUnsafeThrowingContinuation { continuation in
            submit { connection in continuation.resume(with: Result { try body(connection.get()) }) }
        }
    }

    private func submit(_ read: @escaping @Sendable (Result<Database, any Error>) -> Void) {
        let first = pendingReads.withLock { pending in
            pending.reads.append(read)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        guard first else { return }
        if let endOfTurn, endOfTurn.afterTurn({ self.dispatch(onThisThread: true) }) { return }
        dispatch(onThisThread: false)
    }

    private func dispatch(onThisThread: Bool) {
        let (reads, inline) = pendingReads.withLock { pending in
            let reads = pending.reads
            let small = onThisThread && reads.count <= Self.largestInlineBatch
            let inline = small && pending.queuedAfterSlowRead == 0
            if small, !inline { pending.queuedAfterSlowRead -= 1 }
            pending.reads = []
            pending.scheduled = false
            return (reads, inline)
        }
        let connections = self.connections
        guard inline else {
            queue.async { connections.readTogether(reads) }
            return
        }
        let (started, blocksBefore) = (ContinuousClock.now, blocksRead())
        if let inlineWriters {
            ReadConnections.readTogether(reads, inOneTransaction: reads.count > 1) { try inlineWriters.lend($0) }
        } else {
            connections.readTogether(reads)
        }
        if ContinuousClock.now - started >= slowInlineRead, blocksRead() > blocksBefore {
            pendingReads.withLock { $0.queuedAfterSlowRead = Self.queuedAfterSlowRead }
        }
    }
}
