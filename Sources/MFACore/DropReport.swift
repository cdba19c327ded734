import Foundation
import Logging

/// Requests shed without a decision, counted by reason and client, and logged as the warning `dropped requests` at
/// most once per `interval` for each reason and client, with how many were dropped since the last such line. What a
/// burst leaves unlogged is logged by `reportDue`, which the gateway calls every `interval`, so no drop goes unsaid.
public final class DropReport: Sendable {
    private struct Key: Hashable {
        var reason: DropReason
        var client: String
    }

    private struct Tally {
        var unlogged = 0
        var lastLogged: Date?
    }

    private struct State {
        var tallies: [Key: Tally] = [:]
        var totals: [DropReason: Int] = [:]
    }

    public let interval: TimeInterval
    private let clock: any WallClock
    private let logger: Logger
    private let state = Locked(State())

    public init(logger: Logger, clock: any WallClock = SystemWallClock(), interval: TimeInterval = 10) {
        self.logger = logger
        self.clock = clock
        self.interval = interval
    }

    /// `client`: the configured client's name (RADIUS), the resource, or the source address (LDAP); every name here
    /// comes from a bounded set.
    public func dropped(_ reason: DropReason, client: String, count: Int = 1) {
        let now = clock.now()
        let due: Int? = state.withLock { state in
            state.totals[reason, default: 0] += count
            let key = Key(reason: reason, client: client)
            var tally = state.tallies[key] ?? Tally()
            tally.unlogged += count
            defer { state.tallies[key] = tally }
            if let last = tally.lastLogged, now.timeIntervalSince(last) < interval, now >= last { return nil }
            defer {
                tally.unlogged = 0
                tally.lastLogged = now
            }
            return tally.unlogged
        }
        if let due { log(reason, client: client, count: due) }
    }

    /// Logs what was dropped since the last line of each reason and client whose interval has passed: the end of a
    /// burst, which no later drop would report.
    public func reportDue() {
        let now = clock.now()
        let due: [(Key, Int)] = state.withLock { state in
            var due: [(Key, Int)] = []
            for (key, tally) in state.tallies where tally.unlogged > 0 {
                if let last = tally.lastLogged, now.timeIntervalSince(last) < interval, now >= last { continue }
                due.append((key, tally.unlogged))
                state.tallies[key] = Tally(unlogged: 0, lastLogged: now)
            }
            return due
        }
        for (key, count) in due { log(key.reason, client: key.client, count: count) }
    }

    private func log(_ reason: DropReason, client: String, count: Int) {
        logger.warning("dropped requests", metadata: ["reason": "\(reason.rawValue)", "client": "\(client)", "count": "\(count)"])
    }

    /// Requests dropped for `reason` since the start.
    public func total(_ reason: DropReason) -> Int {
        state.withLock { $0.totals[reason] ?? 0 }
    }
}
