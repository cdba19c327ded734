import Foundation

/// Which users' credentials were changed since the cache last looked, as the store's change source tells it.
public enum CredentialChanges: Sendable, Equatable {
    case none
    case users([String])
    /// Changes numbered in commit order (SQLite's record): an entry whose read saw a change's number
    /// (`SealedCredentials.newestChangeSeen`) already holds that change.
    case numbered([NumberedCredentialChange])
    /// It cannot tell (the record of changes was pruned past the last look, the notifications were interrupted):
    /// everything cached may be stale.
    case all
}

/// A change to a user's credentials and its place in commit order.
public struct NumberedCredentialChange: Sendable, Equatable {
    public let user: String
    public let number: Int64

    public init(user: String, number: Int64) {
        self.user = user
        self.number = number
    }
}

/// What a login reads about a user, kept in memory after the first read, so that a login of a known user reads no
/// disk and waits for no other thread before its one write. Coherent with every writer (the admin CLI in another
/// process, other nodes, this process): before each lookup the store's change source says which users changed since
/// the last look, and those entries are dropped first. The look and the lookup happen under one lock, so no lookup
/// sees an entry whose change was already heard. A miss needs no look when the store numbers its changes and its
/// reads (`numberedReads`): the read is newer than anything a look could drop, and a change heard later drops the
/// entry only when the read did not see it.
///
/// Only users that exist are kept (a user added elsewhere is found on its first login), and the used TOTP steps are
/// never kept: a code is always checked against the store's record by the login's write, so the cache cannot answer
/// a replay. Bounded: when full, an arbitrary entry makes room. With a capacity of 0 nothing is kept or looked at.
public final class CredentialsCache: Sendable {
    /// Proof of when a read began: an entry read before a change heard since is not kept (it may predate the change).
    public struct Ticket: Sendable, Equatable {
        fileprivate let epoch: UInt64
    }

    public static let defaultCapacity = 100_000

    private struct State {
        var entries: [String: SealedCredentials] = [:]
        /// Bumped by every change heard.
        var epoch: UInt64 = 0
        /// When the last look for changes began.
        var lastLook: ContinuousClock.Instant?

        /// Hears the changes since the last look, unless a look began after `received` (it saw every change
        /// committed before then): the requests of one read share one look.
        mutating func look(_ changes: () -> CredentialChanges, received: ContinuousClock.Instant?) {
            if let received, let lastLook, lastLook > received { return }
            lastLook = .now
            apply(changes())
        }

        mutating func apply(_ changes: CredentialChanges) {
            switch changes {
            case .none:
                return
            case .users(let names):
                for name in names { entries[name] = nil }
            case .numbered(let changes):
                for change in changes where (entries[change.user]?.newestChangeSeen ?? .min) < change.number {
                    entries[change.user] = nil
                }
            case .all:
                entries.removeAll()
            }
            epoch &+= 1
        }
    }

    private let capacity: Int
    private let numberedReads: Bool
    /// Called under the cache's lock, so must be quick and must not call back into the cache.
    private let changes: @Sendable () -> CredentialChanges
    private let state = Locked(State())

    /// `numberedReads`: `changes` gives `.numbered` changes, and every read the store gives `fill` carries
    /// `newestChangeSeen`.
    public init(
        capacity: Int = CredentialsCache.defaultCapacity, numberedReads: Bool = false,
        changes: @escaping @Sendable () -> CredentialChanges
    ) {
        precondition(capacity >= 0)
        self.capacity = capacity
        self.numberedReads = numberedReads
        self.changes = changes
    }

    /// The user's entry when it is cached and no change to it has been heard (by a request `received` then: nil,
    /// now); the ticket goes with a read from the store that follows a miss.
    public func lookup(_ username: String, received: ContinuousClock.Instant? = nil) -> (entry: SealedCredentials?, ticket: Ticket) {
        guard capacity > 0 else { return (nil, Ticket(epoch: 0)) }
        return state.withLock { state in
            if numberedReads, state.entries[username] == nil { return (nil, Ticket(epoch: state.epoch)) }
            state.look(changes, received: received)
            return (state.entries[username], Ticket(epoch: state.epoch))
        }
    }

    /// Keeps what a read that began at `ticket` found, unless a change was heard since. No look here: a change
    /// committed after the read began is in the change source, and the next lookup that must see it drops the entry.
    public func fill(_ username: String, _ entry: SealedCredentials, since ticket: Ticket) {
        guard capacity > 0 else { return }
        state.withLock { state in
            guard state.epoch == ticket.epoch else { return }
            if state.entries.count >= capacity, state.entries[username] == nil {
                state.entries.remove(at: state.entries.startIndex)
            }
            state.entries[username] = entry
        }
    }

    /// A login's credentials: from memory when they are cached (timed as `credentialsCached`), else from `read`
    /// (which times itself as `credentialsRead`) and kept for the next login. The secret is opened either way.
    public func credentials(
        for username: String, received: ContinuousClock.Instant? = nil, secrets: SecretBox, timing: StoreTiming?,
        reading read: () async throws -> SealedCredentials?
    ) async throws -> UserCredentials? {
        let looked = ContinuousClock.now
        let (cached, ticket) = lookup(username, received: received)
        if let cached {
            timing?(.credentialsCached, .now - looked)
            return try cached.opened(for: username, with: secrets)
        }
        guard let read = try await read() else { return nil }
        fill(username, read, since: ticket)
        return try read.opened(for: username, with: secrets)
    }

    /// This process changed the user: its next login reads the store.
    public func drop(_ username: String) {
        state.withLock { $0.apply(.users([username])) }
    }

    public var count: Int { state.withLock { $0.entries.count } }
}
