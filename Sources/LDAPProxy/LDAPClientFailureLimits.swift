import Foundation
import MFACore

/// The failure buckets of LDAP client addresses (`ldap.client_failure_rate`, `ldap.client_failure_burst`), one per
/// address, in a table of bounded size: any address may connect, so the table forgets addresses rather than grow.
/// The rules as a value; `LDAPClientFailureLimits` is the lock around it.
struct LDAPClientFailureTable {
    private struct Entry {
        var limit: FailureRateLimit
        var lastUsed: Date
    }

    let settings: FailureBucket.Settings
    let capacity: Int
    private var entries: [String: Entry] = [:]

    init(settings: FailureBucket.Settings, capacity: Int) {
        precondition(capacity >= 4, "a table of failure buckets needs room")
        self.settings = settings
        self.capacity = capacity
    }

    var count: Int { entries.count }

    /// The address's bucket, a full one for an address not (or no longer) in the table.
    mutating func limit(for address: String, now: Date) -> FailureRateLimit {
        if let entry = entries[address] {
            entries[address]?.lastUsed = now
            return entry.limit
        }
        if entries.count >= capacity { shrink(now: now) }
        let limit = FailureRateLimit(settings: settings, now: now)
        entries[address] = Entry(limit: limit, lastUsed: now)
        return limit
    }

    /// Full buckets go first: forgetting one changes nothing. If failing addresses still fill most of the table, those
    /// idle longest go too (they start afresh if they come back: more addresses than the table holds get more tries,
    /// never more memory). Each pass frees a tenth of the table or more, so its cost spreads over the insertions.
    private mutating func shrink(now: Date) {
        entries = entries.filter { !$0.value.limit.isFull(now: now) }
        guard entries.count > capacity * 9 / 10 else { return }
        let kept = entries.sorted { $0.value.lastUsed > $1.value.lastUsed }.prefix(capacity * 3 / 4)
        entries = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
    }
}

/// `LDAPClientFailureTable` shared by every connection of the proxy, across event loops.
final class LDAPClientFailureLimits: Sendable {
    /// Enough for every address of a large site; past it addresses are forgotten (see `LDAPClientFailureTable`).
    static let defaultCapacity = 10_000

    private let table: Locked<LDAPClientFailureTable>

    /// Nil when `settings` turn limiting off.
    init?(settings: FailureBucket.Settings, capacity: Int = defaultCapacity) {
        guard settings.isEnabled else { return nil }
        table = Locked(LDAPClientFailureTable(settings: settings, capacity: capacity))
    }

    var settings: FailureBucket.Settings { table.withLock { $0.settings } }
    var count: Int { table.withLock { $0.count } }

    func limit(for address: String, now: Date) -> FailureRateLimit {
        table.withLock { $0.limit(for: address, now: now) }
    }
}
