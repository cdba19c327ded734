import NIOConcurrencyHelpers

/// Logins being decided, across all sockets or connections of a service, so that a graceful shutdown can stop taking new ones and still send
/// the answers of those under way (a pending push is rejected, not left unanswered).
public final class InFlightRequests: Sendable {
    private struct State {
        var count = 0
        var draining = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Logins under way (for tests).
    public var count: Int { state.withLockedValue { $0.count } }

    /// False once draining: the request is dropped.
    public func begin() -> Bool {
        state.withLockedValue { state in
            guard !state.draining else { return false }
            state.count += 1
            return true
        }
    }

    public func end() {
        let waiters = state.withLockedValue { state in
            state.count -= 1
            guard state.count == 0 else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops new logins and waits until those under way have been answered, or `timeout` has passed.
    public func drain(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.drain() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops new logins and waits until those under way have been answered.
    public func drain() async {
        await withCheckedContinuation { continuation in
            let done = state.withLockedValue { state in
                state.draining = true
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
