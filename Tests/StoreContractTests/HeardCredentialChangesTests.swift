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

    @Test func tooManyHeardBeforeALookDropEverything() {
        let heard = HeardCredentialChanges()
        heard.listening()
        _ = heard.look()
        for index in 0...HeardCredentialChanges.mostKept { heard.heard("user\(index)") }
        #expect(heard.look() == .all)
        #expect(heard.look() == CredentialChanges.none)
    }
}
