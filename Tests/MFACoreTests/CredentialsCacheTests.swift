import MFACore
import Testing

@Suite struct CredentialsCacheTests {
    /// The change source, scripted: what each look returns; it counts the looks.
    final class Changes: Sendable {
        private let pending = Locked<[CredentialChanges]>([])
        private let lookCount = Locked(0)
        func next(_ changes: CredentialChanges) { pending.withLock { $0.append(changes) } }
        func look() -> CredentialChanges {
            lookCount.withLock { $0 += 1 }
            return pending.withLock { $0.isEmpty ? .none : $0.removeFirst() }
        }
        var looks: Int { lookCount.withLock { $0 } }
    }

    func entry(_ hash: String) -> SealedCredentials {
        SealedCredentials(
            passwordHash: hash, sealedSecret: nil, algorithm: nil, digits: nil, period: nil, device: nil, lockedUntil: nil,
            failedAttempts: 0)
    }

    @Test func aChangeHeardDropsTheEntryBeforeTheLookup() {
        let changes = Changes()
        let cache = CredentialsCache { changes.look() }
        let (missing, ticket) = cache.lookup("alice")
        #expect(missing == nil)
        cache.fill("alice", entry("one"), since: ticket)
        #expect(cache.lookup("alice").entry?.passwordHash == "one")
        changes.next(.users(["bob"]))
        #expect(cache.lookup("alice").entry?.passwordHash == "one")
        changes.next(.users(["alice"]))
        #expect(cache.lookup("alice").entry == nil)
        cache.fill("alice", entry("two"), since: cache.lookup("alice").ticket)
        changes.next(.all)
        #expect(cache.lookup("alice").entry == nil)
    }

    /// A read that began before a change was heard may hold the old values: it is not kept.
    @Test func aReadOverlappingAChangeIsNotKept() {
        let changes = Changes()
        let cache = CredentialsCache { changes.look() }
        let ticket = cache.lookup("alice").ticket
        changes.next(.users(["alice"]))
        cache.fill("alice", entry("stale"), since: ticket)
        #expect(cache.lookup("alice").entry == nil)
        #expect(cache.count == 0)
    }

    /// Requests made before a look began share it; a request made after the last look began looks again, and sees a
    /// change committed meanwhile.
    @Test func oneLookServesTheRequestsMadeBeforeIt() {
        let changes = Changes()
        let cache = CredentialsCache { changes.look() }
        cache.fill("alice", entry("one"), since: cache.lookup("alice").ticket)
        let lookedSoFar = changes.looks
        let received = ContinuousClock.now
        #expect(cache.lookup("alice", received: received).entry?.passwordHash == "one")
        #expect(changes.looks == lookedSoFar + 1)
        // A change committed now is not for requests made before the look above began.
        changes.next(.users(["alice"]))
        #expect(cache.lookup("alice", received: received).entry?.passwordHash == "one")
        #expect(changes.looks == lookedSoFar + 1)
        // A request made after it looks, and the change drops the entry.
        #expect(cache.lookup("alice", received: .now).entry == nil)
        #expect(changes.looks == lookedSoFar + 2)
    }

    /// With numbered reads a miss reads at once; a change heard later drops the entry only if the read did not see it.
    @Test func aNumberedReadIsDroppedOnlyByChangesItDidNotSee() {
        let changes = Changes()
        let cache = CredentialsCache(numberedReads: true) { changes.look() }
        var read = entry("one")
        read.newestChangeSeen = 7
        let (missing, ticket) = cache.lookup("alice")
        #expect(missing == nil)
        #expect(changes.looks == 0)
        cache.fill("alice", read, since: ticket)
        // Committed before the read (alice's enrollment, say), heard only now: the entry holds it already.
        changes.next(.numbered([NumberedCredentialChange(user: "alice", number: 7)]))
        #expect(cache.lookup("alice").entry?.passwordHash == "one")
        #expect(changes.looks == 1)
        // Committed after the read.
        changes.next(.numbered([NumberedCredentialChange(user: "bob", number: 8), NumberedCredentialChange(user: "alice", number: 9)]))
        #expect(cache.lookup("alice").entry == nil)
        // A read without a number is dropped by any change to its user.
        cache.fill("alice", entry("two"), since: cache.lookup("alice").ticket)
        changes.next(.numbered([NumberedCredentialChange(user: "alice", number: 1)]))
        #expect(cache.lookup("alice").entry == nil)
    }

    @Test func theCapacityIsNeverExceeded() {
        let cache = CredentialsCache(capacity: 3) { .none }
        for name in ["a", "b", "c", "d", "e"] { cache.fill(name, entry(name), since: cache.lookup(name).ticket) }
        #expect(cache.count == 3)
        #expect(cache.lookup("e").entry?.passwordHash == "e")
        cache.drop("e")
        #expect(cache.lookup("e").entry == nil)
    }
}
