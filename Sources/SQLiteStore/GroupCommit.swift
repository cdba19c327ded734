import Dispatch
import GRDB
import MFACore

/// Group commit for the login path: writes that arrive while a transaction is running go into the next one
/// together, so many concurrent logins cost one commit rather than one each, and SQLite's single writer stops
/// being the limit. A write that throws leaves the others' changes (see `Atomicity`), and order is kept: a write
/// submitted after another commits in the same transaction or a later one. Writes nobody waits for (audit events)
/// ride with the next awaited one, and a batch submitted from an event loop starts when the loop's pass ends
/// (`EndOfTurn`): under load a commit carries many logins, not one or two.
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
        /// Someone waits for it (a login's used step): its batch starts at once. Other jobs (audit events) join the
        /// next such batch, or start one of their own after `backgroundDelay`: they do not cost a commit each.
        let awaited: Bool
        /// Runs inside the transaction; returns what to do once the transaction has committed.
        let run: @Sendable (Database) -> @Sendable () -> Void
        /// The transaction did not commit: nothing of this job was stored.
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        /// Queued jobs that someone waits for: only these start a batch at once.
        var awaited = 0
        var running = false
        /// A start is due after `backgroundDelay` for queued jobs that nobody waits for.
        var delayedStart = false

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
    /// Bounds one transaction, so a burst cannot hold the write lock for long.
    static let maximumBatch = 1024
    /// How long a write nobody waits for may wait for a batch to join.
    static let backgroundDelay: DispatchTimeInterval = .milliseconds(5)

    init(database: any DatabaseWriter, timing: StoreTiming? = nil, endOfTurn: EndOfTurn? = nil) {
        self.database = database
        self.timing = timing
        self.endOfTurn = endOfTurn
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
    /// `failed` hears of an error, from the writer's queue.
    func enqueue(
        _ atomicity: Atomicity = .savepoint, _ work: @escaping @Sendable (Database) throws -> Void,
        failed: @escaping @Sendable (any Error) -> Void
    ) {
        submit(
            Job(
                awaited: false,
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

    /// Returns once everything submitted before has committed (or failed).
    func flush() async throws {
        try await write(.singleStatement) { _ in }
    }

    private func submit(_ job: Job) {
        let start = queue.withLock { queue in
            queue.jobs.append(job)
            if job.awaited { queue.awaited += 1 }
            return queue.shouldStart()
        }
        if start.arm { armDelayedStart() }
        guard start.now else { return }
        if let endOfTurn, endOfTurn.afterTurn({ self.runBatch() }) { return }
        runBatch()
    }

    private func armDelayedStart() {
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.backgroundDelay) {
            let start = self.queue.withLock { queue in
                queue.delayedStart = false
                guard !queue.running, !queue.jobs.isEmpty else { return false }
                queue.running = true
                return true
            }
            if start { self.runBatch() }
        }
    }

    /// One transaction for what is queued; the next batch is started from the writer's queue when this one is done.
    private func runBatch() {
        let batch = queue.withLock { queue in
            let batch = Array(queue.jobs.prefix(Self.maximumBatch))
            queue.jobs.removeFirst(batch.count)
            queue.awaited -= batch.count(where: \.awaited)
            return batch
        }
        database.asyncWriteWithoutTransaction { db in
            do {
                var completions: [@Sendable () -> Void] = []
                completions.reserveCapacity(batch.count)
                let started = ContinuousClock.now
                try db.inTransaction {
                    for job in batch { completions.append(job.run(db)) }
                    return .commit
                }
                self.timing?(.commit, .now - started)
                for completion in completions { completion() }
            } catch {
                for job in batch { job.fail(error) }
            }
            let next = self.queue.withLock { queue in
                queue.running = false
                return queue.shouldStart()
            }
            if next.arm { self.armDelayedStart() }
            if next.now { self.runBatch() }
        }
    }
}
