import Foundation

/// Threads of their own for password hashes (scrypt: tens of milliseconds of a core each), as a task executor.
/// On the cooperative pool a burst of hashes would hold every one of its threads and stall all other async work
/// in the process (the HTTP API, the store's hand-offs) for as long as the burst lasts; here they queue for these
/// threads only. The fair queue in front (`LoginWorkQueue`) keeps at most as many running as there are threads.
public final class HashingThreads: TaskExecutor, @unchecked Sendable {
    /// One per core, for the whole process.
    public static let shared = HashingThreads(count: ProcessInfo.processInfo.activeProcessorCount)

    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(count: Int) {
        for index in 0..<max(1, count) {
            let thread = Thread { self.serve() }  // the threads live as long as the process
            thread.name = "countersign-hash-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() -> Never {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
