/// Something due now and then (housekeeping, a repeated warning): true at most once per `interval`.
public final class Occasionally: Sendable {
    private let interval: Duration
    private let last = Locked<ContinuousClock.Instant?>(nil)

    public init(every interval: Duration) {
        self.interval = interval
    }

    public func isDue(now: ContinuousClock.Instant = .now) -> Bool {
        last.withLock { last in
            if let previous = last, previous.duration(to: now) < interval { return false }
            last = now
            return true
        }
    }
}
