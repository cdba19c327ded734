import NIOCore

/// Runs Swift tasks on one NIO event loop. A login decided on the loop that received it needs no hand-off to
/// the cooperative pool and back: the request, the decision and the reply stay on one thread, and only the store's
/// read and commit cross to threads of their own. Work that takes long (a password hash) must move off with
/// `withTaskExecutorPreference` (password hashes go to `HashingThreads`).
public final class EventLoopTaskExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

extension EventLoopTaskExecutor {
    /// Runs `work` on a task of its own on this loop, then `then` with its outcome, on the loop: while the task waits
    /// (store, push), the loop goes on with other requests.
    public func run<Outcome: Sendable>(
        _ work: @escaping @Sendable () async -> Outcome, then: @escaping @Sendable (Outcome) -> Void
    ) {
        let loop = eventLoop
        Task(executorPreference: self) {
            let outcome = await work()
            if loop.inEventLoop { then(outcome) } else { loop.execute { then(outcome) } }
        }
    }
}
