import NIOCore

/// RFC 5080 §2.2.2 duplicate detection for one socket. A request is identified by its source address and port,
/// Identifier and Request Authenticator (the local socket is implied: one cache per socket).
struct DuplicateCache {
    struct Key: Hashable {
        var sourceAddress: [UInt8]
        var sourcePort: Int
        var identifier: UInt8
    }

    enum Disposition: Equatable {
        /// Decide it.
        case new
        /// The same request is still being decided: drop the retransmit (never a second decision, never a second push).
        case dropInProgress
        /// Already answered: send the same bytes again.
        case resend([UInt8])
        /// Too many requests in flight: drop, the client retransmits later.
        case dropOverloaded
    }

    private enum State {
        case inProgress
        case answered(reply: [UInt8], expires: NIODeadline)
    }

    private struct Entry {
        var authenticator: [UInt8]
        var state: State
    }

    private var entries: [Key: Entry] = [:]
    private var inProgressCount = 0
    let lifetime: TimeAmount
    let capacity: Int
    let maximumInProgress: Int

    init(lifetime: TimeAmount, capacity: Int = 100_000, maximumInProgress: Int = 20_000) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.maximumInProgress = maximumInProgress
    }

    var count: Int { entries.count }
    /// Requests being decided (entries not yet answered).
    var inProgress: Int { inProgressCount }

    mutating func requestReceived(_ key: Key, authenticator: [UInt8], now: NIODeadline) -> Disposition {
        if let entry = entries[key], entry.authenticator == authenticator {
            switch entry.state {
            case .inProgress:
                return .dropInProgress
            case .answered(let reply, let expires) where expires > now:
                return .resend(reply)
            case .answered:
                break  // expired: a new request that happens to reuse the key
            }
        }
        // Same key with a new authenticator: a new request (RFC 5080 §2.2.2); the old answer is no longer needed.
        guard inProgressCount < maximumInProgress else { return .dropOverloaded }
        if entries.count >= capacity, entries[key] == nil {
            evictExpired(now: now)
            guard entries.count < capacity else { return .dropOverloaded }
        }
        if case .inProgress = entries[key]?.state { inProgressCount -= 1 }
        entries[key] = Entry(authenticator: authenticator, state: .inProgress)
        inProgressCount += 1
        return .new
    }

    /// Caches the reply for the duplicate window. Ignored when a newer request has taken the key meanwhile.
    mutating func replySent(_ key: Key, authenticator: [UInt8], reply: [UInt8], now: NIODeadline) {
        guard let entry = entries[key], entry.authenticator == authenticator, case .inProgress = entry.state else { return }
        inProgressCount -= 1
        entries[key] = Entry(authenticator: authenticator, state: .answered(reply: reply, expires: now + lifetime))
    }

    /// The request was dropped without a reply; a retransmit may be decided afresh.
    mutating func requestAbandoned(_ key: Key, authenticator: [UInt8]) {
        guard let entry = entries[key], entry.authenticator == authenticator, case .inProgress = entry.state else { return }
        inProgressCount -= 1
        entries[key] = nil
    }

    mutating func evictExpired(now: NIODeadline) {
        entries = entries.filter { _, entry in
            if case .answered(_, let expires) = entry.state { return expires > now }
            return true
        }
    }
}
