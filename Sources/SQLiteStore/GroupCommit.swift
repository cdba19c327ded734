import Dispatch
import GRDB
import MFACore

/// Group commit for the login path: writes that arrive while a transaction is running go into the next one
/// together, so many concurrent logins cost one commit rather than one each, and SQLite's single writer stops
/// being the limit. A write that throws leaves the others' changes (see `Atomicity`), and order is kept: a write
/// submitted after another commits in the same transaction or a later one, except a write queued `apart` (an audit
/// event), which only needs to be stored. Writes nobody waits for ride with the next awaited one, and a batch
/// submitted from an event loop starts when the loop's pass ends (`EndOfTurn`): under load a commit carries many
/// logins, not one or two. Writes queued apart wait for a batch of their own (after `backgroundDelay`, or once
/// `apartBatch` of them are queued), so that at low load a login's commit writes its own page and not the five an
/// audit event touches (the events table, its two indexes, the AUTOINCREMENT counter).
final class GroupCommit: Sendable {
    /// How a write that throws is kept from leaving half its changes in the shared transaction.
    enum Atomicity: Sendable {
        /// The work runs in a savepoint of its own, rolled back if it throws.
        case savepoint
        /// The work changes the database with at most one statement, which SQLite applies whole or not at all
        /// (a statement journal): no savepoint needed, and none paid for (two more statements per write).
        case singleStatement
    }

    private struct Job: Sendable {
        /// Someone waits for it (a login's used step): its batch starts at once. Other jobs join the next such batch
        /// (those queued `apart` only once `apartBatch` of them wait), or start one of their own after
        /// `backgroundDelay`: they do not cost a commit each.
        let awaited: Bool
        /// May commit after jobs submitted later (see `enqueue`).
        var apart = false
        /// Commits everything queued before it, apart or not (`flush`).
        var barrier = false
        /// Runs inside the transaction; returns what to do once the transaction has committed.
        let run: @Sendable (Database) -> @Sendable () -> Void
        /// The transaction did not commit: nothing of this job was stored.
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        /// Queued jobs that someone waits for: only these start a batch at once.
        var awaited = 0
        var apart = 0
        var barriers = 0
        var running = false
        /// A start is due after `backgroundDelay` for queued jobs that nobody waits for.
        var delayedStart = false
        /// The jobs queued apart have waited `backgroundDelay`: the next batch takes them.
        var apartDue = false

        mutating func append(_ job: Job) {
            jobs.append(job)
            if job.awaited { awaited += 1 }
            if job.apart { apart += 1 }
            if job.barrier { barriers += 1 }
        }

        /// The next batch, in the order submitted: everything up to `maximumBatch`, or only what is not apart
        /// while the jobs queued apart are few, recent and behind no barrier.
        mutating func takeBatch() -> [Job] {
            var batch: [Job] = []
            if apartDue || apart >= GroupCommit.apartBatch || barriers > 0 {
                batch = Array(jobs.prefix(GroupCommit.maximumBatch))
                jobs.removeFirst(batch.count)
                apartDue = false
            } else {
                var kept: [Job] = []
                for job in jobs {
                    if job.apart || batch.count == GroupCommit.maximumBatch { kept.append(job) } else { batch.append(job) }
                }
                jobs = kept
            }
            awaited -= batch.count(where: \.awaited)
            apart -= batch.count(where: \.apart)
            barriers -= batch.count(where: \.barrier)
            return batch
        }

        /// Whether to start a batch now (false: one runs, or only background jobs wait and their start is armed).
        mutating func shouldStart() -> (now: Bool, arm: Bool) {
            guard !running, !jobs.isEmpty else { return (false, false) }
            if awaited > 0 || jobs.count >= GroupCommit.maximumBatch {
                running = true
                return (true, false)
            }
            guard !delayedStart else { return (false, false) }
            delayedStart = true
            return (false, true)
        }
    }

    private let database: any DatabaseWriter
    private let timing: StoreTiming?
    /// Where a batch submitted from an event loop waits for the loop's pass to end: the logins of one pass reach
    /// their writes one after the other, and commit together.
    private let endOfTurn: EndOfTurn?
    private let queue = Locked(Queue())
    /// Where a small batch started at the end of a loop's turn commits on that loop's thread (nil: always on the
    /// writer's queue).
    private let inlineWriters: InlineWriters?
    /// How long a write nobody waits for may wait for a batch to join.
    private let backgroundDelay: DispatchTimeInterval
    /// Bounds one transaction, so a burst cannot hold the write lock for long.
    static let maximumBatch = 1024
    /// Jobs queued apart that join the next batch without waiting longer: under load their pages are shared anyway.
    static let apartBatch = 64

    init(
        database: any DatabaseWriter, timing: StoreTiming? = nil, endOfTurn: EndOfTurn? = nil,
        inlineWriters: InlineWriters? = nil, backgroundDelay: DispatchTimeInterval = .milliseconds(5)
    ) {
        self.database = database
        self.inlineWriters = inlineWriters
        self.timing = timing
        self.endOfTurn = endOfTurn
        self.backgroundDelay = backgroundDelay
    }

    /// Runs `work` in the next group transaction and returns its result once that transaction has committed.
    func write<T: Sendable>(
        _ atomicity: Atomicity = .savepoint, _ work: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit(
                Job(
                    awaited: true,
                    run: { db in
                        let result = Result { try Self.run(work, atomicity, db) }
                        return { continuation.resume(with: result) }
                    },
                    fail: { continuation.resume(throwing: $0) }))
        }
    }

    /// Runs `work` in the next group transaction without waiting for it (audit events: off the reply path).
    /// `failed` hears of an error, from the writer's queue. `apart`: `work` only adds rows that no other write of
    /// this queue reads or changes (an audit event), so it may commit after writes submitted later, with others
    /// like it; `flush` still waits for it.
    func enqueue(
        _ atomicity: Atomicity = .savepoint, apart: Bool = false, _ work: @escaping @Sendable (Database) throws -> Void,
        failed: @escaping @Sendable (any Error) -> Void
    ) {
        submit(
            Job(
                awaited: false, apart: apart,
                run: { db in
                    do {
                        try Self.run(work, atomicity, db)
                        return {}
                    } catch {
                        return { failed(error) }
                    }
                },
                fail: failed))
    }

    private static func run<T>(_ work: (Database) throws -> T, _ atomicity: Atomicity, _ db: Database) throws -> T {
        switch atomicity {
        case .singleStatement:
            return try work(db)
        case .savepoint:
            var value: T?
            try db.inSavepoint {
                value = try work(db)
                return .commit
            }
            return value!
        }
    }

    /// Jobs waiting for a batch (for tests).
    var queued: Int { queue.withLock { $0.jobs.count } }

    /// Returns once everything submitted before has committed (or failed), jobs queued apart too.
    func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(Job(awaited: true, barrier: true, run: { _ in { continuation.resume() } }, fail: { continuation.resume(throwing: $0) }))
        }
    }

    private func submit(_ job: Job) {
        let start = queue.withLock { queue in
            queue.append(job)
            return queue.shouldStart()
        }
        if start.arm { armDelayedStart() }
        guard start.now else { return }
        if let endOfTurn, endOfTurn.afterTurn({ self.runBatch(onThisThread: true) }) { return }
        runBatch()
    }

    private func armDelayedStart() {
        DispatchQueue.global().asyncAfter(deadline: .now() + backgroundDelay) {
            let start = self.queue.withLock { queue in
                queue.delayedStart = false
                guard !queue.jobs.isEmpty else { return false }
                // This batch, or the next one if a batch is running, takes what waited here.
                queue.apartDue = true
                guard !queue.running else { return false }
                queue.running = true
                return true
            }
            if start { self.runBatch() }
        }
    }

    /// One transaction for what is queued; the next batch is started from the writer's queue when this one is done.
    /// `onThisThread`: the end of a loop's turn, where a small batch commits at once if the write lock is free.
    private func runBatch(onThisThread: Bool = false) {
        let batch = queue.withLock { $0.takeBatch() }
        if onThisThread, let inlineWriters, batch.count <= InlineWriters.largestBatch,
            inlineWriters.inImmediateTransaction({ db in commitBegun(batch, db) })
        {
            batchEnded()
            return
        }
        database.asyncWriteWithoutTransaction { db in
            do {
                try db.execute(sql: "BEGIN IMMEDIATE")
                self.commitBegun(batch, db)
            } catch {
                for job in batch { job.fail(error) }
            }
            self.batchEnded()
        }
    }

    /// Runs the jobs in the transaction begun on `db`, commits it (or rolls it back), and hands out the outcomes.
    private func commitBegun(_ batch: [Job], _ db: Database) {
        let started = ContinuousClock.now
        var completions: [@Sendable () -> Void] = []
        completions.reserveCapacity(batch.count)
        do {
            for job in batch { completions.append(job.run(db)) }
            try db.cachedStatement(sql: "COMMIT").execute()
        } catch {
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
            for job in batch { job.fail(error) }
            return
        }
        timing?(.commit, .now - started)
        for completion in completions { completion() }
    }

    private func batchEnded() {
        let next = queue.withLock { queue in
            queue.running = false
            return queue.shouldStart()
        }
        if next.arm { armDelayedStart() }
        if next.now { runBatch() }
    }
}
