import Foundation
import MFACore
import Testing

/// Portal invitations on each backend: a token works once, before it expires, for the user it was made for.
@Suite struct InvitationContractTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    @Test(arguments: Backend.allCases)
    func anInvitationWorksOnceAndOnlyBeforeItExpires(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.addUser("bob", passwordHash: nil, at: now)
            try await store.createInvitation("TOKEN-A", for: "alice", expires: now + 600)
            try await store.createInvitation("TOKEN-B", for: "bob", expires: now + 600)
            #expect(try await store.redeemInvitation("TOKEN-A", now: now) == "alice")
            #expect(try await store.redeemInvitation("TOKEN-A", now: now) == nil)
            #expect(try await store.redeemInvitation("TOKEN-B", now: now + 600) == nil)
            // An expired token is used up too.
            #expect(try await store.redeemInvitation("TOKEN-B", now: now) == nil)
            #expect(try await store.redeemInvitation("NEVER", now: now) == nil)
            await #expect(throws: StoreError(.noSuchUser, "")) {
                try await store.createInvitation("TOKEN-C", for: "nobody", expires: now + 600)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aNewInvitationReplacesTheUsersEarlierOneAndGoesWithTheUser(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try database.store()
            try await store.addUser("alice", passwordHash: nil, at: now)
            try await store.createInvitation("FIRST", for: "alice", expires: now + 600)
            try await store.createInvitation("SECOND", for: "alice", expires: now + 600)
            #expect(try await store.redeemInvitation("FIRST", now: now) == nil)
            #expect(try await store.redeemInvitation("SECOND", now: now) == "alice")
            try await store.createInvitation("THIRD", for: "alice", expires: now + 600)
            try await store.deleteUser("alice")
            try await store.addUser("alice", passwordHash: nil, at: now)
            #expect(try await store.redeemInvitation("THIRD", now: now) == nil)
        }
    }

    /// Two nodes redeeming one token at once: one of them gets the user.
    @Test(arguments: Backend.allCases)
    func anInvitationRedeemedOnTwoNodesAtOnceWorksOnce(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let nodes = [try database.store(), try database.store()]
            try await nodes[0].addUser("alice", passwordHash: nil, at: now)
            try await nodes[0].createInvitation("RACE", for: "alice", expires: now + 600)
            let now = self.now
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<10 { group.addTask { try await nodes[index % 2].redeemInvitation("RACE", now: now) } }
                return try await group.compactMap { $0 }.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(winners == ["alice"])
        }
    }
}
