import NIOCore

/// RFC 5080 §2.2.2 duplicate detection for one socket. A request is identified by its source address and port,
/// Identifier and Request Authenticator (the local socket is implied: one cache per socket).
///
/// Limits are per client, so that one NAS's flood cannot crowd out another's requests: requests being decided
/// (`maximumInProgress`) and entries held (`capacity`). Answered entries expire in the order they were answered
/// (one lifetime for all), so expiry is a walk from the front of a queue, never a scan of the whole cache.
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
        /// The client has too many requests in flight or cached: drop, it retransmits later.
        case dropOverloaded
    }

    private enum State {
        case inProgress
        case answered(reply: [UInt8], expires: NIODeadline)
    }

    private struct Entry {
        var authenticator: [UInt8]
        var state: State
        var client: Int
    }

    private struct ClientCounts {
        var entries = 0
        var inProgress = 0
    }

    private var entries: [Key: Entry] = [:]
    private var clients: [Int: ClientCounts] = [:]
    /// Answered entries, oldest answer first.
    private var expiries: [(key: Key, expires: NIODeadline)] = []
    private var expiriesHead = 0
    let lifetime: TimeAmount
    let capacity: Int
    let maximumInProgress: Int

    init(lifetime: TimeAmount, capacity: Int = 100_000, maximumInProgress: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.maximumInProgress = maximumInProgress
    }

    var count: Int { entries.count }
    /// Requests being decided (entries not yet answered).
    var inProgress: Int { clients.values.reduce(0) { $0 + $1.inProgress } }

    /// `client`: the configured client the request came from (`RADIUSClient.id`).
    mutating func requestReceived(_ key: Key, authenticator: [UInt8], client: Int, now: NIODeadline) -> Disposition {
        evictExpired(now: now)
        if let entry = entries[key], entry.authenticator == authenticator {
            switch entry.state {
            case .inProgress:
                return .dropInProgress
            case .answered(let reply, _):
                return .resend(reply)
            }
        }
        // Same key with a new authenticator: a new request (RFC 5080 §2.2.2); the old answer is no longer needed.
        let counts = clients[client] ?? ClientCounts()
        let replacing = entries[key]
        let sameClient = replacing?.client == client
        guard counts.inProgress < maximumInProgress, counts.entries < capacity || sameClient else { return .dropOverloaded }
        if let replacing { remove(key, replacing) }
        entries[key] = Entry(authenticator: authenticator, state: .inProgress, client: client)
        clients[client, default: ClientCounts()].entries += 1
        clients[client, default: ClientCounts()].inProgress += 1
        return .new
    }

    /// Caches the reply for the duplicate window. Ignored when a newer request has taken the key meanwhile.
    mutating func replySent(_ key: Key, authenticator: [UInt8], reply: [UInt8], now: NIODeadline) {
        guard var entry = entries[key], entry.authenticator == authenticator, case .inProgress = entry.state else { return }
        clients[entry.client]?.inProgress -= 1
        entry.state = .answered(reply: reply, expires: now + lifetime)
        entries[key] = entry
        expiries.append((key, now + lifetime))
    }

    /// The request was dropped without a reply; a retransmit may be decided afresh.
    mutating func requestAbandoned(_ key: Key, authenticator: [UInt8]) {
        guard let entry = entries[key], entry.authenticator == authenticator, case .inProgress = entry.state else { return }
        remove(key, entry)
    }

    mutating func evictExpired(now: NIODeadline) {
        while expiriesHead < expiries.count, expiries[expiriesHead].expires <= now {
            let (key, expires) = expiries[expiriesHead]
            expiriesHead += 1
            // Only the answer this expiry belongs to: the key may have been taken by a newer request since.
            if let entry = entries[key], case .answered(_, let entryExpires) = entry.state, entryExpires == expires {
                remove(key, entry)
            }
        }
        if expiriesHead == expiries.count {
            expiries.removeAll(keepingCapacity: expiries.count < 4096)
            expiriesHead = 0
        } else if expiriesHead >= 1024, expiriesHead * 2 >= expiries.count {
            expiries.removeFirst(expiriesHead)
            expiriesHead = 0
        }
    }

    private mutating func remove(_ key: Key, _ entry: Entry) {
        entries[key] = nil
        var counts = clients[entry.client] ?? ClientCounts()
        counts.entries -= 1
        if case .inProgress = entry.state { counts.inProgress -= 1 }
        clients[entry.client] = counts.entries == 0 ? nil : counts
    }
}
