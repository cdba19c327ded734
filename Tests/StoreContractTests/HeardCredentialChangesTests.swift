import MFACore
import Testing

@testable import PostgresStore

/// What the credentials cache of a PostgreSQL node is told: nothing can be known while the LISTEN connection is
/// down, and everything may have changed across a gap.
@Suite struct HeardCredentialChangesTests {
    @Test func nothingIsKeptUntilListeningAndAfterALoss() {
        let heard = HeardCredentialChanges()
        #expect(heard.look() == .all)
        heard.listening()
        // The gap before listening: everything once, then only what is heard.
        #expect(heard.look() == .all)
        #expect(heard.look() == CredentialChanges.none)
        heard.heard("alice")
        heard.heard("bob")
        #expect(heard.look() == .users(["alice", "bob"]))
        #expect(heard.look() == CredentialChanges.none)
        heard.lost()
        #expect(heard.look() == .all)
        #expect(heard.look() == .all)
        heard.listening()
        #expect(heard.look() == .all)
        #expect(heard.look() == CredentialChanges.none)
    }

    /// What the contract tests wait on instead of polling: a notification about one user after a mark.
    @Test(.timeLimit(.minutes(1))) func aWaitEndsWithTheNotificationAboutItsUserAfterTheMark() async {
        let heard = HeardCredentialChanges()
        let listening = Task { await heard.waitUntilListening() }
        heard.listening()
        await listening.value
        heard.heard("alice")
        let mark = heard.mark()
        let ended = Locked(false)
        let waiting = Task {
            await heard.waitUntilHeard("alice", after: mark)
            ended.withLock { $0 = true }
        }
        // Heard before the mark, or about someone else: the wait goes on.
        heard.heard("bob")
        #expect(ended.withLock { $0 } == false)
        heard.heard("alice")
        await waiting.value
        #expect(ended.withLock { $0 })
        // A wait whose notification came already ends at once.
        await heard.waitUntilHeard("alice", after: mark)
    }

    @Test func tooManyHeardBeforeALookDropEverything() {
        let heard = HeardCredentialChanges()
        heard.listening()
        _ = heard.look()
        for index in 0...HeardCredentialChanges.mostKept { heard.heard("user\(index)") }
        #expect(heard.look() == .all)
        #expect(heard.look() == CredentialChanges.none)
    }
}
