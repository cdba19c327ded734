import Foundation
import MFACore
import Testing

/// Keeps what a `changes()` stream yields, for a test to wait on.
final class ChangeRecorder: Sendable {
    private let changes = Locked<[PushClusterChange]>([])
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<PushClusterChange>) {
        let changes = self.changes
        task = Task { for await change in stream { changes.withLock { $0.append(change) } } }
    }

    deinit { task.cancel() }

    /// Waits up to `timeout` for `condition` to hold of everything heard so far.
    func waitFor(
        _ what: String, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: ([PushClusterChange]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if changes.withLock({ condition($0) }) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("never heard \(what); heard \(changes.withLock { $0 })", sourceLocation: sourceLocation)
        throw CancellationError()
    }
}
