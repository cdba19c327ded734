import MFACore

/// Bounds a store operation in time. postgres-nio's pool keeps a lease waiting while it retries a dead server (its
/// circuit breaker opens after a minute), and a query sent to a server that stopped answering waits for TCP to give
/// up: a login must be refused at once instead (design.md, Scale: "Database unreachable: reject at once").
///
/// The operation runs in a task of its own and the caller is answered by whichever comes first, the result or the
/// deadline, so a caller never waits for an operation that ignores cancellation; the late operation is cancelled and
/// its result dropped.
enum Deadline {
    static func run<T: Sendable>(
        _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        let work = Task { try await operation() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let timer = Task {
                    try await Task.sleep(for: limit)
                    if race.finish(with: .failure(StoreErrors.timedOut(after: limit))) { work.cancel() }
                }
                Task {
                    let result = await work.result
                    race.finish(with: result)
                    timer.cancel()
                }
            }
        } onCancel: {
            work.cancel()
        }
    }
}

/// The one answer a caller gets.
private final class Race<T: Sendable>: Sendable {
    private let continuation = Locked<CheckedContinuation<T, any Error>?>(nil)

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// False when the caller was answered already.
    @discardableResult
    func finish(with result: Result<T, any Error>) -> Bool {
        guard let waiting = continuation.withLock({ current in defer { current = nil }; return current }) else { return false }
        waiting.resume(with: result)
        return true
    }
}
