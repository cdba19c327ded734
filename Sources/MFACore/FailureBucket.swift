import Foundation

/// Failed attempts from one source (a RADIUS client) as a token bucket: each failure takes a token, tokens come back
/// at `rate` per second up to `burst`, and while none is left the source's new attempts are refused before any work
/// is done (no password hash, no push), so one NAS sending wrong passwords cannot exhaust the server for the others.
///
/// Attempts still being decided take nothing: the bucket slows a source down once its failures are known.
/// A state machine without I/O; time comes in with each event.
public struct FailureBucket: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Failures per second that the bucket refills with.
        public var rate: Double
        /// Failures allowed in a row from a full bucket.
        public var burst: Double

        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }

        /// Zero in either turns limiting off.
        public var isEnabled: Bool { rate > 0 && burst > 0 }
    }

    public enum Admission: Sendable, Equatable {
        case admitted
        /// Refused: the first refusal of a limiting episode, the one to report.
        case limitBegan
        /// Refused again in the same episode.
        case limited
        /// Admitted: the first attempt after an episode in which `refused` attempts were turned away.
        case limitEnded(refused: Int)
    }

    public let settings: Settings
    private var tokens: Double
    private var updated: Date
    /// Refusals in the current limiting episode; nil outside one.
    private var refused: Int?

    public init(settings: Settings, now: Date) {
        precondition(settings.isEnabled, "a failure bucket needs a rate and a burst above zero")
        self.settings = settings
        self.tokens = settings.burst
        self.updated = now
    }

    public mutating func attemptReceived(now: Date) -> Admission {
        refill(now: now)
        if tokens >= 1 {
            guard let refused else { return .admitted }
            self.refused = nil
            return .limitEnded(refused: refused)
        }
        guard let refused else {
            refused = 1
            return .limitBegan
        }
        self.refused = refused + 1
        return .limited
    }

    public mutating func failureRecorded(now: Date) {
        refill(now: now)
        tokens = max(0, tokens - 1)
    }

    private mutating func refill(now: Date) {
        // A clock set back refills nothing (and does not stop the refill once it moves on again).
        let elapsed = max(0, now.timeIntervalSince(updated))
        tokens = min(settings.burst, tokens + elapsed * settings.rate)
        updated = now
    }
}

/// A `FailureBucket` behind a lock, shared by every socket a client's requests arrive on.
public final class FailureRateLimit: Sendable {
    private let bucket: Locked<FailureBucket>

    public init(settings: FailureBucket.Settings, now: Date) {
        bucket = Locked(FailureBucket(settings: settings, now: now))
    }

    public var settings: FailureBucket.Settings { bucket.withLock { $0.settings } }

    public func attemptReceived(now: Date) -> FailureBucket.Admission {
        bucket.withLock { $0.attemptReceived(now: now) }
    }

    public func failureRecorded(now: Date) {
        bucket.withLock { $0.failureRecorded(now: now) }
    }
}
