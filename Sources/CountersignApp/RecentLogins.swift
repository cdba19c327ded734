import CountersignHTTP
import Foundation
import MFACore

/// Logins decided in the last minute, for `/v1/status`: sixty one-second buckets, each reused once its second is a
/// minute old.
struct MinuteTally {
    private var buckets = [(second: Int64, counts: LoginCounts)](repeating: (-1, LoginCounts()), count: 60)

    mutating func record(_ result: AuditResult, at time: Date) {
        let second = Self.second(time)
        let index = Int(second % 60)
        if buckets[index].second != second { buckets[index] = (second, LoginCounts()) }
        switch result {
        case .success: buckets[index].counts.accepts += 1
        case .failure: buckets[index].counts.rejects += 1
        case .challenge: buckets[index].counts.challenges += 1
        }
    }

    /// The 60 seconds up to and including `now`'s.
    func lastMinute(now: Date) -> LoginCounts {
        let second = Self.second(now)
        var total = LoginCounts()
        for bucket in buckets where bucket.second > second - 60 && bucket.second <= second {
            total.accepts += bucket.counts.accepts
            total.rejects += bucket.counts.rejects
            total.challenges += bucket.counts.challenges
        }
        return total
    }

    private static func second(_ time: Date) -> Int64 { Int64(max(0, time.timeIntervalSince1970).rounded(.down)) }
}

/// The tally, fed by the audit events that close a login (`radius_auth`, `ldap_bind`, `api_auth`).
final class RecentLogins: Sendable {
    private let tally = Locked(MinuteTally())

    func record(_ event: AuditEvent) {
        guard event.type == .radiusAuth || event.type == .ldapBind || event.type == .apiAuth else { return }
        tally.withLock { $0.record(event.result, at: event.time) }
    }

    func lastMinute(now: Date) -> LoginCounts {
        tally.withLock { $0.lastMinute(now: now) }
    }
}
