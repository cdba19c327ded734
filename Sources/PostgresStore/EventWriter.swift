import MFACore

/// Audit events on their way to the database: what arrives while a batch is being written goes into the next one
/// together (one INSERT of many rows), in the order it arrived. `append` waits for its batch; `appendSoon` does not,
/// and hears of a failure through `failed`; `flush` returns once everything queued before it was written or failed.
final class EventWriter: Sendable {
    private struct Job: Sendable {
        var events: [AuditEvent]
        /// Called once the batch holding these events was written, or failed.
        var done: @Sendable ((any Error)?) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var writing = false
    }

    private let queue = Locked(Queue())
    private let write: @Sendable ([AuditEvent]) async throws -> Void
    /// Bounds one INSERT: nine parameters an event, and the protocol allows 65535 (§55.7, Bind).
    static let maximumBatch = 1000

    init(write: @escaping @Sendable ([AuditEvent]) async throws -> Void) {
        self.write = write
    }

    func append(_ events: [AuditEvent]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(Job(events: events) { error in continuation.resume(with: error.map { .failure($0) } ?? .success(())) })
        }
    }

    func enqueue(_ events: [AuditEvent], failed: @escaping @Sendable (any Error) -> Void) {
        submit(Job(events: events) { error in if let error { failed(error) } })
    }

    func flush() async {
        await withCheckedContinuation { continuation in submit(Job(events: []) { _ in continuation.resume() }) }
    }

    private func submit(_ job: Job) {
        let start = queue.withLock { queue in
            queue.jobs.append(job)
            guard !queue.writing else { return false }
            queue.writing = true
            return true
        }
        if start { Task { await drain() } }
    }

    /// Writes batches until the queue is empty; one writer at a time keeps the order.
    private func drain() async {
        while let batch = nextBatch() {
            let events = batch.flatMap(\.events)
            var failure: (any Error)?
            if !events.isEmpty {
                do { try await write(events) } catch { failure = error }
            }
            for job in batch { job.done(failure) }
        }
    }

    private func nextBatch() -> [Job]? {
        queue.withLock { queue in
            guard !queue.jobs.isEmpty else {
                queue.writing = false
                return nil
            }
            var count = 0
            let taken = queue.jobs.prefix { job in
                defer { count += job.events.count }
                return count == 0 || count + job.events.count <= Self.maximumBatch
            }
            queue.jobs.removeFirst(taken.count)
            return Array(taken)
        }
    }
}
