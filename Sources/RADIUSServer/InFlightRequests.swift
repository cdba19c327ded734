import MFACore

/// Logins being decided, across all sockets, so that a graceful shutdown can stop taking new ones and still send
/// the answers of those under way (a pending push is rejected, not left unanswered).
final class InFlightRequests: Sendable {
    private struct State {
        var count = 0
        var draining = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Locked(State())

    /// Logins under way (for tests).
    var count: Int { state.withLock { $0.count } }

    /// False once draining: the request is dropped.
    func begin() -> Bool {
        state.withLock { state in
            guard !state.draining else { return false }
            state.count += 1
            return true
        }
    }

    func end() {
        let waiters = state.withLock { state in
            state.count -= 1
            guard state.count == 0 else { return [CheckedContinuation<Void, Never>]() }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops new logins and waits until those under way have been answered.
    func drain() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                state.draining = true
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
