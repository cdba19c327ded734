import Foundation

/// Failed attempts from one source (a RADIUS client, an LDAP client address) as a token bucket: tokens come back at
/// `rate` per second up to `burst`, and while none is left the source's new attempts are refused before any work is
/// done (no password hash, no push), so one source sending wrong passwords cannot exhaust the server for the others.
///
/// An admitted attempt takes its token at once and holds it while it is decided: a burst cannot admit more attempts
/// than the bucket holds before the first of them is known to fail. A failure keeps the token; a success, or an
/// attempt dropped undecided, gives it back (`attemptEnded`). A state machine without I/O; time comes in with
/// each event.
public struct FailureBucket: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Failures per second that the bucket refills with.
        public var rate: Double
        /// Failures allowed in a row from a full bucket (and attempts in flight at once).
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

    /// How an admitted attempt ended.
    public enum Ending: Sendable, Equatable {
        /// A wrong password, code or push answer: the token stays taken.
        case failed
        /// Anything else (accepted, challenged, rejected for a reason that is no guess, dropped undecided): the
        /// token comes back.
        case notFailed
    }

    public let settings: Settings
    private var tokens: Double
    private var updated: Date
    /// Refusals in the current limiting episode; nil outside one.
    private var refused: Int?
    private var lastRefusal: Date?

    public init(settings: Settings, now: Date) {
        precondition(settings.isEnabled, "a failure bucket needs a rate and a burst above zero")
        self.settings = settings
        self.tokens = settings.burst
        self.updated = now
    }

    /// Admitted attempts take a token now, before they are decided. A limiting episode lasts until the source has
    /// gone `burst / rate` seconds (the time to refill an empty bucket) without a refusal: a flood that does not pause
    /// is one episode (one report), however many of its attempts the refill lets through meanwhile.
    public mutating func attemptReceived(now: Date) -> Admission {
        refill(now: now)
        if tokens >= 1 {
            tokens -= 1
            guard let refused, let lastRefusal, now.timeIntervalSince(lastRefusal) >= settings.burst / settings.rate else {
                return .admitted
            }
            self.refused = nil
            return .limitEnded(refused: refused)
        }
        lastRefusal = now
        guard let refused else {
            refused = 1
            return .limitBegan
        }
        self.refused = refused + 1
        return .limited
    }

    /// The end of an attempt that `attemptReceived` admitted.
    public mutating func attemptEnded(_ ending: Ending, now: Date) {
        refill(now: now)
        if ending == .notFailed { tokens = min(settings.burst, tokens + 1) }
    }

    /// A failure of an attempt that holds no token (it gave it back early, `AdmissionTicket.waiting`).
    public mutating func failureRecorded(now: Date) {
        refill(now: now)
        tokens = max(0, tokens - 1)
    }

    /// Full: as if the source had never been seen (a table of buckets may forget it).
    public func isFull(now: Date) -> Bool {
        tokens + max(0, now.timeIntervalSince(updated)) * settings.rate >= settings.burst && refused == nil
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

    public func attemptEnded(_ ending: FailureBucket.Ending, now: Date) {
        bucket.withLock { $0.attemptEnded(ending, now: now) }
    }

    public func failureRecorded(now: Date) {
        bucket.withLock { $0.failureRecorded(now: now) }
    }

    /// Full: the source could be forgotten (`FailureBucket.isFull`).
    public func isFull(now: Date) -> Bool {
        bucket.withLock { $0.isFull(now: now) }
    }

    /// The ticket an admitted attempt carries until it ends.
    public func ticket(clock: any WallClock) -> AdmissionTicket {
        AdmissionTicket(limit: self, clock: clock)
    }
}

/// The token an admitted attempt holds in its source's `FailureRateLimit`, ended exactly once.
///
/// A login that goes on to wait for a push gives its token back when the wait begins (`waiting`): waiting costs the
/// server nothing, and a NAS may have hundreds of users approving at once; a deny then takes a token as it ends.
public final class AdmissionTicket: Sendable {
    private enum State {
        case holding
        case returned
        case ended
    }

    private let limit: FailureRateLimit
    private let clock: any WallClock
    private let state = Locked(State.holding)

    init(limit: FailureRateLimit, clock: any WallClock) {
        self.limit = limit
        self.clock = clock
    }

    /// The attempt's password passed and it now waits on the user: its token comes back.
    public func waiting() {
        let holding = state.withLock { state in
            defer { if state == .holding { state = .returned } }
            return state == .holding
        }
        if holding { limit.attemptEnded(.notFailed, now: clock.now()) }
    }

    /// Decided (`failed`: a wrong password, code or push answer) or dropped undecided (`failed` false).
    public func ended(failed: Bool) {
        let previous = state.withLock { state in
            defer { state = .ended }
            return state
        }
        switch previous {
        case .holding: limit.attemptEnded(failed ? .failed : .notFailed, now: clock.now())
        case .returned: if failed { limit.failureRecorded(now: clock.now()) }
        case .ended: break
        }
    }
}
