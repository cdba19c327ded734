import MFACore

/// Housekeeping that is due now and then (expired challenges, old pushes): true at most once per `interval`.
final class Occasionally: Sendable {
    private let interval: Duration
    private let last = Locked<ContinuousClock.Instant?>(nil)

    init(every interval: Duration) {
        self.interval = interval
    }

    func isDue(now: ContinuousClock.Instant = .now) -> Bool {
        last.withLock { last in
            if let previous = last, previous.duration(to: now) < interval { return false }
            last = now
            return true
        }
    }
}
